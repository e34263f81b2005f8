import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { insertIgnoreVerb } from '../db/dialect.js';
import type { Db } from '../db/types.js';
import type { Clock } from '../util/clock.js';

export interface LockHolder {
  owner: string;
  runId: string | null;
  host: string;
  pid: number;
  acquiredAtMs: number;
  leaseUntilMs: number;
}

type LockAttempt =
  { acquired: true; lock: JobLock; tookOverFrom: LockHolder | null } | { acquired: false; holder: LockHolder };

interface LockRow {
  owner: string;
  run_id: string | null;
  host: string;
  pid: number | string;
  acquired_at_ms: number | string;
  lease_until_ms: number | string;
}

const toHolder = (r: LockRow): LockHolder => ({
  owner: r.owner,
  runId: r.run_id,
  host: r.host,
  pid: Number(r.pid),
  acquiredAtMs: Number(r.acquired_at_ms),
  leaseUntilMs: Number(r.lease_until_ms),
});

/** True while a process with this pid exists on this machine. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A holder whose lease ran out, or whose process on this host is gone, can be replaced. */
export function isStale(holder: LockHolder, nowMs: number, host = os.hostname()): boolean {
  if (holder.leaseUntilMs <= nowMs) return true;
  return holder.host === host && holder.pid !== process.pid && !processAlive(holder.pid);
}

export async function readLock(db: Db, name: string): Promise<LockHolder | null> {
  const row = await db.queryOne<LockRow>(
    'SELECT owner, run_id, host, pid, acquired_at_ms, lease_until_ms FROM webjobs_locks WHERE name = ?',
    [name],
  );
  return row ? toHolder(row) : null;
}

/**
 * A lock held in the database (so it works across processes and across servers sharing one
 * MariaDB), with a short lease that the holder renews while it runs. A crashed holder's lock
 * expires with its lease, or at once when its process is visibly gone on this host.
 */
export class JobLock {
  private timer: NodeJS.Timeout | null = null;
  private lost = false;

  constructor(
    private readonly db: Db,
    readonly name: string,
    readonly owner: string,
    private readonly clock: Clock,
    private readonly leaseMs: number,
  ) {}

  static async acquire(
    db: Db,
    name: string,
    opts: { clock: Clock; leaseMs: number; runId: string },
  ): Promise<LockAttempt> {
    const owner = randomUUID();
    const now = opts.clock.now().getTime();
    const host = os.hostname();
    const inserted = await db.execute(
      `${insertIgnoreVerb(db.dialect)} INTO webjobs_locks (name, owner, run_id, host, pid, acquired_at_ms, lease_until_ms) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      [name, owner, opts.runId, host, process.pid, now, now + opts.leaseMs],
    );
    const lock = new JobLock(db, name, owner, opts.clock, opts.leaseMs);
    if (inserted.affectedRows === 1) return { acquired: true, lock, tookOverFrom: null };

    const holder = await readLock(db, name);
    if (!holder) return JobLock.acquire(db, name, opts); // released between our two statements
    if (!isStale(holder, now, host)) return { acquired: false, holder };

    // Compare-and-set on the old owner: of two processes taking over at once, one wins.
    const taken = await db.execute(
      'UPDATE webjobs_locks SET owner = ?, run_id = ?, host = ?, pid = ?, acquired_at_ms = ?, lease_until_ms = ? WHERE name = ? AND owner = ?',
      [owner, opts.runId, host, process.pid, now, now + opts.leaseMs, name, holder.owner],
    );
    if (taken.affectedRows === 1) return { acquired: true, lock, tookOverFrom: holder };
    const winner = await readLock(db, name);
    return winner ? { acquired: false, holder: winner } : JobLock.acquire(db, name, opts);
  }

  /** Renews the lease every third of it; `onLost` fires if another process took the lock. */
  startRenewing(onLost: (err: Error) => void, onError: (err: unknown) => void): void {
    const every = Math.max(200, Math.floor(this.leaseMs / 3));
    this.timer = setInterval(() => {
      this.renew().then((ok) => {
        if (!ok && !this.lost) {
          this.lost = true;
          onLost(new Error(`lock ${this.name} was taken over by another process`));
        }
      }, onError);
    }, every);
    this.timer.unref();
  }

  async renew(): Promise<boolean> {
    const res = await this.db.execute('UPDATE webjobs_locks SET lease_until_ms = ? WHERE name = ? AND owner = ?', [
      this.clock.now().getTime() + this.leaseMs,
      this.name,
      this.owner,
    ]);
    return res.affectedRows === 1; // mysql2 sets FOUND_ROWS: matched rows count, changed or not
  }

  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.db.execute('DELETE FROM webjobs_locks WHERE name = ? AND owner = ?', [this.name, this.owner]);
  }
}

/** Clears a lock by hand (`webjobs unlock`). */
export async function forceUnlock(db: Db, name: string): Promise<boolean> {
  const res = await db.execute('DELETE FROM webjobs_locks WHERE name = ?', [name]);
  return res.affectedRows > 0;
}
