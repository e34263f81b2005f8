import fs from 'node:fs';
import path from 'node:path';

/** `.{final}.{pid}.{random}.tmp`: the temporary name an AtomicFile writes under, beside the final one. */
function tempNameFor(finalName: string): string {
  return `.${finalName}.${process.pid}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}.tmp`;
}

/** The pid inside a temporary name made by `tempNameFor` (null when the name is not one). */
function pidOfTempName(name: string): number | null {
  const m = /^\..+\.(\d+)\.[a-z0-9]+\.tmp$/.exec(name);
  return m ? Number(m[1]) : null;
}

/** The names in `dir`; a folder that does not exist holds none (any other error is thrown). */
export function namesIn(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/**
 * Temporary files (named by `pattern`, holding the writer's pid) whose process died mid-write
 * (a SIGKILL, a crash): safe to remove. Returns the names removed.
 */
export function removeOrphanedTemps(dir: string, pattern: RegExp, isAlive: (pid: number) => boolean): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!pattern.test(name)) continue;
    const pid = pidOfTempName(name);
    if (pid === null || isAlive(pid)) continue;
    fs.rmSync(path.join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}

/**
 * A plain file written under a temporary name in the target folder (mode 0600), fsynced, then
 * renamed over its final name. Until `commit` succeeds nothing exists (or the previous
 * version stays) under the final name; `abort` removes the temporary file.
 */
export class AtomicFile {
  readonly tempPath: string;
  readonly finalPath: string;
  private fd: number | null;
  private bytes = 0;

  constructor(
    readonly dir: string,
    readonly finalName: string,
  ) {
    this.finalPath = path.join(dir, finalName);
    this.tempPath = path.join(dir, tempNameFor(finalName));
    this.fd = fs.openSync(this.tempPath, 'wx', 0o600);
  }

  /** Appends text (UTF-8) or bytes. Writes go straight to the file: nothing accumulates in memory. */
  write(data: string | Uint8Array): void {
    if (this.fd === null) throw new Error(`${this.tempPath} is already closed`);
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += fs.writeSync(this.fd, buf, off, buf.length - off);
    this.bytes += buf.length;
  }

  get size(): number {
    return this.bytes;
  }

  /** Flushes to disk and renames onto the final name (replacing an older file of that name); returns the final path. */
  commit(): string {
    if (this.fd === null) throw new Error(`${this.tempPath} is already closed`);
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    this.fd = null;
    fs.renameSync(this.tempPath, this.finalPath);
    syncDir(this.dir);
    return this.finalPath;
  }

  /** Removes the temporary file (after a failure or a cancellation). Safe to call more than once. */
  abort(): void {
    if (this.fd !== null) {
      try {
        fs.closeSync(this.fd);
      } catch {
        /* already closed */
      }
      this.fd = null;
    }
    fs.rmSync(this.tempPath, { force: true });
  }
}

/** Writes `data` to `dir/name` atomically (temporary file, fsync, rename), mode 0600. */
export function writeFileAtomic(dir: string, name: string, data: string | Uint8Array): string {
  const file = new AtomicFile(dir, name);
  try {
    file.write(data);
    return file.commit();
  } catch (err) {
    file.abort();
    throw err;
  }
}

/** Makes a rename durable: the folder's entry is flushed too. */
export function syncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    /* some filesystems refuse fsync on a directory; the rename is still atomic */
  }
}
