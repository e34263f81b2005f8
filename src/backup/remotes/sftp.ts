import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { Client, type SFTPWrapper } from 'ssh2';
import { parseBackupName } from '../../jobs/backup-db/backup-files.js';
import { digestStream, type Digest } from '../sha256.js';
import { knownHostKeys } from './known-hosts.js';
import { isWebjobsFileName, type BackupRemote, type RemoteFile } from './types.js';

/** config `backup.sftp`. */
export interface SftpSettings {
  keyFile: string;
  /** Default ~/.ssh/known_hosts. */
  knownHostsFile: string;
  passphrase?: string;
}

export interface SftpTarget {
  user: string;
  host: string;
  port: number;
  dir: string;
}

const NO_SUCH_FILE = 2; // SSH_FX_NO_SUCH_FILE

function call<T>(fn: (cb: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value as T))));
}

export class SftpRemote implements BackupRemote {
  private constructor(
    readonly label: string,
    private readonly target: SftpTarget,
    private readonly conn: Client,
    private readonly sftp: SFTPWrapper,
  ) {}

  /** Read streams handed out by open(), waited for by close(). */
  private readonly reading = new Set<Readable>();

  /** Connects with the key file, checking the server's host key against known_hosts. */
  static async connect(label: string, target: SftpTarget, settings: SftpSettings): Promise<SftpRemote> {
    const trusted = knownHostKeys(settings.knownHostsFile, target.host, target.port);
    const privateKey = fs.readFileSync(settings.keyFile);
    const conn = new Client();
    await new Promise<void>((resolve, reject) => {
      conn.once('ready', resolve);
      conn.once('error', reject);
      conn.connect({
        host: target.host,
        port: target.port,
        username: target.user,
        privateKey,
        passphrase: settings.passphrase,
        readyTimeout: 20_000,
        hostVerifier: (key: Buffer) => trusted.some((k) => k.equals(key)),
      });
    });
    try {
      const sftp = await call<SFTPWrapper>((cb) => conn.sftp(cb));
      return new SftpRemote(label, target, conn, sftp);
    } catch (err) {
      conn.end();
      throw err;
    }
  }

  private remotePath(name: string): string {
    return path.posix.join(this.target.dir, name);
  }

  /** Creates the target folder (and its parents) when missing. */
  private async ensureDir(): Promise<void> {
    let dir = '';
    for (const part of this.target.dir.split('/').filter(Boolean)) {
      dir += `/${part}`;
      try {
        await call((cb) => this.sftp.stat(dir, cb));
      } catch {
        await call((cb) => this.sftp.mkdir(dir, { mode: 0o700 }, cb));
      }
    }
  }

  /** Uploads to a temporary name in the target folder, then renames it (OpenSSH's rename never replaces a file). */
  async upload(localFile: string, name: string): Promise<void> {
    await this.ensureDir();
    const temp = this.remotePath(`.${name}.${process.pid}.${Date.now().toString(36)}.tmp`);
    try {
      await call((cb) => this.sftp.fastPut(localFile, temp, { concurrency: 16, mode: 0o600 }, cb));
      await call((cb) => this.sftp.rename(temp, this.remotePath(name), cb));
    } catch (err) {
      await call((cb) => this.sftp.unlink(temp, cb)).catch(() => undefined);
      throw err;
    }
  }

  async open(name: string): Promise<Readable | null> {
    try {
      await call((cb) => this.sftp.stat(this.remotePath(name), cb));
    } catch (err) {
      if ((err as { code?: number }).code === NO_SUCH_FILE) return null;
      throw err;
    }
    const stream = this.sftp.createReadStream(this.remotePath(name), { highWaterMark: 256 * 1024 });
    this.reading.add(stream);
    stream.once('close', () => this.reading.delete(stream));
    return stream;
  }

  async digest(name: string): Promise<Digest | null> {
    const stream = await this.open(name);
    return stream && digestStream(stream);
  }

  async list(): Promise<RemoteFile[]> {
    let entries: { filename: string; attrs: { size: number; isFile(): boolean } }[];
    try {
      entries = await call((cb) => this.sftp.readdir(this.target.dir, cb));
    } catch (err) {
      if ((err as { code?: number }).code === NO_SUCH_FILE) return [];
      throw err;
    }
    return entries
      .filter((e) => parseBackupName(e.filename) && e.attrs.isFile())
      .map((e) => ({ name: e.filename, bytes: e.attrs.size }));
  }

  async remove(name: string): Promise<void> {
    if (!isWebjobsFileName(name))
      throw new Error(`refusing to delete ${name} from ${this.label}: not a webjobs backup`);
    await call((cb) => this.sftp.unlink(this.remotePath(name), cb));
  }

  async close(): Promise<void> {
    // A read handle's CLOSE request may still be in flight: ending the session under it is an error.
    await Promise.all(
      [...this.reading].map((s) => new Promise((resolve) => (s.closed ? resolve(null) : s.once('close', resolve)))),
    );
    this.sftp.end();
    this.conn.end();
  }
}
