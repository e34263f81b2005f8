import fs from 'node:fs';
import path from 'node:path';
import { createGzip, type Gzip } from 'node:zlib';
import type { SqlSink } from '../db/dump/types.js';

const BATCH_BYTES = 256 * 1024;

/**
 * A gzip file written under a temporary name in the target folder (mode 0600), flushed to
 * disk, then linked to its final name without ever replacing an existing file. Until
 * `commit` succeeds there is no file under the final name; `abort` removes the temporary one.
 */
export class AtomicGzipFile implements SqlSink {
  readonly tempPath: string;
  private readonly fd: number;
  private readonly gzip: Gzip;
  private readonly out: fs.WriteStream;
  private failure: Error | null = null;
  private pending: string[] = [];
  private pendingBytes = 0;
  private closed = false;
  private done: Promise<void>;

  constructor(
    readonly dir: string,
    finalName: string,
    level: number,
  ) {
    this.tempPath = path.join(dir, `.${finalName}.${process.pid}.${Date.now().toString(36)}.tmp`);
    this.fd = fs.openSync(this.tempPath, 'wx', 0o600);
    this.gzip = createGzip({ level, memLevel: 9 });
    this.out = fs.createWriteStream('', { fd: this.fd, autoClose: false, highWaterMark: 1024 * 1024 });
    const fail = (err: Error) => {
      this.failure ??= err;
    };
    this.gzip.on('error', fail);
    this.out.on('error', fail);
    this.gzip.pipe(this.out);
    this.done = new Promise((resolve, reject) => {
      this.out.on('finish', resolve);
      this.out.on('error', reject);
      this.gzip.on('error', reject);
    });
    this.done.catch(() => undefined);
  }

  async write(chunk: string): Promise<void> {
    if (this.failure) throw this.failure;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= BATCH_BYTES) await this.flushPending();
  }

  private async flushPending(): Promise<void> {
    if (!this.pending.length) return;
    const data = this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    if (!this.gzip.write(data)) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = () => {
          this.gzip.off('error', onError);
          this.out.off('error', onError);
          resolve();
        };
        const onError = (err: Error) => {
          this.gzip.off('drain', onDrain);
          reject(err);
        };
        this.gzip.once('drain', onDrain);
        this.gzip.once('error', onError);
        this.out.once('error', onError);
      });
    }
    if (this.failure) throw this.failure;
  }

  /** Finishes compression, fsyncs, and links the file under the first free final name; returns that path. */
  async commit(finalName: string): Promise<string> {
    await this.flushPending();
    this.gzip.end();
    await this.done;
    if (this.failure) throw this.failure;
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    this.closed = true;
    const ext = '.sql.gz';
    const stem = finalName.endsWith(ext) ? finalName.slice(0, -ext.length) : finalName;
    for (let n = 1; ; n++) {
      const candidate = path.join(this.dir, n === 1 ? finalName : `${stem}_${n}${ext}`);
      try {
        fs.linkSync(this.tempPath, candidate); // fails rather than replace an existing backup
        fs.unlinkSync(this.tempPath);
        syncDir(this.dir);
        return candidate;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || n > 100) throw err;
      }
    }
  }

  /** Removes the temporary file (after a failure or a cancellation). Safe to call more than once. */
  abort(): void {
    this.gzip.destroy();
    this.out.destroy();
    if (!this.closed) {
      try {
        fs.closeSync(this.fd);
      } catch {
        /* already closed */
      }
      this.closed = true;
    }
    fs.rmSync(this.tempPath, { force: true });
  }
}

function syncDir(dir: string): void {
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
