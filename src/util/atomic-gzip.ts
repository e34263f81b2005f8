import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzip as gzipCallback, type ZlibOptions } from 'node:zlib';
import type { SqlSink } from '../db/dump/types.js';
import { syncDir } from './atomic-file.js';

/** Turns the gzip bytes into what is stored (the age encryption): written through in order. */
export interface OutputEncoder {
  write(chunk: Uint8Array): Promise<void>;
  /** Writes what the encoder still holds; resolves when every byte reached the sink. */
  end(): Promise<void>;
  abort(): void;
}

const gzipAsync = promisify(gzipCallback) as (data: Buffer, options: ZlibOptions) => Promise<Buffer>;

/**
 * Input bytes from which pending writes go off as one independently compressed gzip member.
 * Below the dump's ~512 KB chunks, so each chunk goes off with at most a separator or a
 * statement's head copied in front of it, rather than pairs of chunks copied into fresh 1 MB
 * buffers: measured ~90 ms less main-thread time per 86 MB. The ratio is the same (deflate's
 * window is 32 KB).
 */
const BLOCK_BYTES = 256 * 1024;

/**
 * Written bytes after which the file is flushed to disk in the background (fdatasync on the
 * thread pool) while the dump goes on, so the fsync before the rename has only the last few MB
 * left: the final fsync of an 11 MB backup took ~4 ms here instead of ~12.
 */
const SYNC_BYTES = 4 * 1024 * 1024;

/**
 * A gzip file written under a temporary name in the target folder (mode 0600), flushed to
 * disk, then linked to its final name without ever replacing an existing file. Until
 * `commit` succeeds there is no file under the final name; `abort` removes the temporary one.
 *
 * Compression runs in parallel: the input is cut into blocks of at least BLOCK_BYTES, each
 * compressed on the libuv thread pool as a complete gzip member, and the members are written in
 * order (a multi-member gzip file is standard: gunzip, zcat and zlib read it as one stream). At
 * most `maxInFlight` blocks are queued or being compressed at once, so memory stays flat and a
 * slow disk or CPU holds the writer back.
 */
export class AtomicGzipFile implements SqlSink {
  readonly tempPath: string;
  private readonly fd: number;
  private readonly options: ZlibOptions;
  private readonly maxInFlight: number;
  private failure: Error | null = null;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private inFlight: Promise<Buffer>[] = [];
  /** Blocks waiting for a compression thread, in order. */
  private queued: Array<{ data: Buffer; resolve: (out: Buffer) => void; reject: (err: unknown) => void }> = [];
  private compressing = 0;
  private readonly threads: number;
  private readonly blockBytes: number;
  private closed = false;
  private unsyncedBytes = 0;
  private syncing: Promise<void> | null = null;
  /** Set by commit: nothing more will be read, so the writer's core is free for compression too. */
  private inputDone = false;
  private aborted = false;
  private readonly encoder: OutputEncoder | null;
  /**
   * Hashes the bytes as they reach the file (after encryption, when encrypting), so the
   * manifest's SHA-256 is of the file as written, not as read back.
   */
  private readonly hash = createHash('sha256');
  /** SQL bytes in, file bytes out; `sha256` is set by commit. */
  inputBytes = 0;
  writtenBytes = 0;
  sha256: string | null = null;

  /**
   * `encode`, when given, receives a function that writes bytes to the file and returns the
   * encoder every gzip member then goes through (so only encoded bytes ever reach the disk).
   */
  constructor(
    readonly dir: string,
    finalName: string,
    level: number,
    options: {
      maxInFlight?: number;
      blockBytes?: number;
      encode?: (writeToFile: (chunk: Uint8Array) => void) => OutputEncoder;
    } = {},
  ) {
    this.tempPath = path.join(dir, `.${finalName}.${process.pid}.${Date.now().toString(36)}.tmp`);
    this.fd = fs.openSync(this.tempPath, 'wx', 0o600);
    this.options = { level, memLevel: 9, chunkSize: 512 * 1024 };
    this.maxInFlight = options.maxInFlight ?? Math.max(4, Math.min(10, 2 * os.availableParallelism() + 2));
    // Above level 6 compression is the slower side: no cap (see startCompressing).
    this.threads = level > 6 ? Infinity : Math.max(1, os.availableParallelism() - 1);
    this.blockBytes = options.blockBytes ?? BLOCK_BYTES;
    this.encoder = options.encode ? options.encode((chunk) => this.writeToFile(chunk)) : null;
  }

  private writeToFile(chunk: Uint8Array): void {
    let off = 0;
    while (off < chunk.length) off += fs.writeSync(this.fd, chunk, off, chunk.length - off);
    this.hash.update(chunk);
    this.writtenBytes += chunk.length;
  }

  /** Uncompressed bytes written so far. */

  async write(chunk: string | Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.aborted) throw new Error('backup file was aborted');
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    if (!buf.length) return;
    this.inputBytes += buf.length;
    this.pending.push(buf);
    this.pendingBytes += buf.length;
    if (this.pendingBytes >= this.blockBytes) await this.submitBlock();
  }

  /** Starts compressing what is pending; waits (writing finished blocks out) while too many are in flight. */
  private async submitBlock(): Promise<void> {
    if (this.pending.length) {
      const data =
        this.pending.length === 1 ? (this.pending[0] as Buffer) : Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
      const job = new Promise<Buffer>((resolve, reject) => this.queued.push({ data, resolve, reject }));
      job.catch(() => undefined); // observed when written out; never an unhandled rejection after an abort
      this.inFlight.push(job);
      this.startCompressing();
    }
    while (this.inFlight.length >= this.maxInFlight) await this.writeOldest();
  }

  /**
   * Hands queued blocks to the thread pool, oldest first. Up to level 6 compression is about as
   * fast as the writer, whose thread is the one the whole run waits for: then as many threads
   * as there are cores besides the writer's (one more when blocks queue up), since more only take
   * the writer's core and make the oldest block, which the writer waits for, finish later.
   * Above 6 compression is the slower side and gets every thread of the pool. Measured on
   * 2 cores, SQLite, 1M rows: level 6 1.30 → 1.25 s (median of four runs of 9–13); a cap at
   * level 9 made it 10 % slower.
   */
  private startCompressing(): void {
    const allowed = () => (this.inputDone ? Infinity : this.queued.length >= 2 ? this.threads + 1 : this.threads);
    while (this.queued.length && this.compressing < allowed()) {
      const next = this.queued.shift() as (typeof this.queued)[number];
      this.compressing++;
      gzipAsync(next.data, this.options)
        .then(next.resolve, next.reject)
        .finally(() => {
          this.compressing--;
          this.startCompressing();
        });
    }
  }

  private async writeOldest(): Promise<void> {
    const job = this.inFlight.shift();
    if (!job) return;
    let out: Buffer;
    try {
      out = await job;
    } catch (err) {
      this.failure ??= err as Error;
      throw err;
    }
    if (this.aborted) throw new Error('backup file was aborted');
    try {
      if (this.encoder) await this.encoder.write(out);
      else this.writeToFile(out);
    } catch (err) {
      this.failure ??= err as Error;
      throw err;
    }
    this.unsyncedBytes += out.length;
    if (this.unsyncedBytes >= SYNC_BYTES && !this.syncing) {
      this.unsyncedBytes = 0;
      this.syncing = new Promise((resolve) => {
        fs.fdatasync(this.fd, (err) => {
          if (err && !this.aborted) this.failure ??= err;
          this.syncing = null;
          resolve();
        });
      });
    }
  }

  /** Finishes compression, fsyncs, and links the file under the first free final name; returns that path. */
  async commit(finalName: string): Promise<string> {
    if (this.failure) throw this.failure;
    this.inputDone = true;
    this.startCompressing();
    if (this.pending.length || this.inFlight.length === 0) {
      // Flush the remainder; an empty file still gets one (empty) gzip member, so it is valid gzip.
      if (!this.pending.length) this.pending.push(Buffer.alloc(0));
      await this.submitBlock();
    }
    while (this.inFlight.length) await this.writeOldest();
    await this.encoder?.end();
    await this.syncing;
    if (this.failure) throw this.failure;
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    this.closed = true;
    this.sha256 = this.hash.digest('hex');
    const at = finalName.indexOf('.sql.gz');
    const stem = at > 0 ? finalName.slice(0, at) : finalName;
    const ext = at > 0 ? finalName.slice(at) : '';
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
    this.aborted = true;
    this.encoder?.abort();
    this.pending = [];
    this.inFlight = [];
    this.queued = [];
    if (!this.closed) {
      this.closed = true;
      // Closed only once a background fdatasync is done with it: its number could be reused.
      const close = () => {
        try {
          fs.closeSync(this.fd);
        } catch {
          /* already closed */
        }
      };
      if (this.syncing) void this.syncing.then(close);
      else close();
    }
    fs.rmSync(this.tempPath, { force: true });
  }
}
