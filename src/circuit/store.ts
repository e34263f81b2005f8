import { randomUUID } from 'node:crypto';
import { insertIgnoreVerb } from '../db/dialect.js';
import type { Db } from '../db/types.js';
import type { Clock } from '../util/clock.js';
import { migrate } from '../db/migrate.js';

export type CircuitState = 'closed' | 'open' | 'half_open';

export interface TrialLease {
  id: string;
  untilMs: number;
}

export interface Circuit {
  platform: string;
  state: CircuitState;
  version: number;
  /** Consecutive failures (reset by a success while closed, or by closing). */
  failureCount: number;
  totalRequests: number;
  totalFailures: number;
  /** The wall-clock moment it opened (null while closed). Never moved by a reader. */
  openedAtMs: number | null;
  leases: TrialLease[];
  lastFailure: string | null;
  updatedAtMs: number;
}

export interface CircuitPolicy {
  failureThreshold: number;
  timeoutMs: number;
  halfOpenRequests: number;
  /** How long a half-open trial slot is held before it is considered abandoned. */
  leaseMs: number;
}

export interface Transition {
  platform: string;
  from: CircuitState;
  to: CircuitState;
  why: string;
  atMs: number;
}

export type Admission =
  | { allowed: true; state: CircuitState; lease: string | null }
  | { allowed: false; state: CircuitState; reason: string; halfOpenAtMs: number | null };

interface CircuitRowRaw {
  platform: string;
  state: string;
  version: number | string;
  failure_count: number | string;
  total_requests: number | string;
  total_failures: number | string;
  opened_at_ms: number | string | null;
  trial_leases: string | null;
  last_failure: string | null;
  updated_at_ms: number | string;
}

const COLUMNS =
  'platform, state, version, failure_count, total_requests, total_failures, opened_at_ms, trial_leases, last_failure, updated_at_ms';

function parseLeases(text: string | null): TrialLease[] {
  if (!text) return [];
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v)
      ? (v as TrialLease[]).filter((l) => l && typeof l.id === 'string' && typeof l.untilMs === 'number')
      : [];
  } catch {
    return [];
  }
}

function toCircuit(r: CircuitRowRaw): Circuit {
  const state = r.state === 'open' || r.state === 'half_open' ? r.state : 'closed';
  return {
    platform: r.platform,
    state,
    version: Number(r.version),
    failureCount: Number(r.failure_count),
    totalRequests: Number(r.total_requests),
    totalFailures: Number(r.total_failures),
    openedAtMs: r.opened_at_ms === null ? null : Number(r.opened_at_ms),
    leases: parseLeases(r.trial_leases),
    lastFailure: r.last_failure,
    updatedAtMs: Number(r.updated_at_ms),
  };
}

/** What a change function decides: the new row (null: no write), what to return, and a transition to log. */
interface Change<T> {
  next: Circuit | null;
  result: T;
  why?: string;
}

/**
 * Changes wait in one queue per connection and are applied in batches: better-sqlite3 is
 * synchronous, so a second BEGIN IMMEDIATE from this process while the first transaction
 * awaits would nest in it (same connection) or wait on it without ever letting it finish
 * (another connection). Batching also gives group commit: the changes queued while one
 * transaction commits are applied, in order, in the next one.
 */
interface PendingChange {
  store: CircuitStore;
  platform: string;
  fn: (cur: Circuit, now: number) => Change<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

interface Queue {
  pending: PendingChange[];
  running: boolean;
  timer: NodeJS.Timeout | null;
}

/**
 * A success on a circuit that is not in trial only adds to its counters: it may wait this long
 * to share a commit with others (SQLite's commit blocks the event loop for its fsync). Any
 * other change (a failure, a trial's outcome, a lease, a reset) is written at once, and takes
 * everything queued before it along, in order.
 */
const LAZY_FLUSH_MS = 2000;
const LAZY_MAX = 1000;

const queues = new WeakMap<Db, Queue>();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The circuits, kept in the database so that every process (each cron run is a new one)
 * sees the same state. Every change reads the row and writes it back with
 * `WHERE version = <read version>`: when another process changed it in between, the write
 * matches nothing and the change is recomputed from the fresh row, so no count and no
 * transition is ever lost. On SQLite the read and write also share one BEGIN IMMEDIATE
 * transaction (the busy timeout makes the other process wait instead of failing).
 */
export class CircuitStore {
  private readonly known = new Set<string>();

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    readonly policy: CircuitPolicy,
    readonly onTransition: (t: Transition) => void = () => undefined,
  ) {}

  /** Reads without creating anything: a missing table is no circuits. */
  static async list(db: Db): Promise<Circuit[]> {
    if (!(await db.tableExists('webjobs_circuits'))) return [];
    const rows = await db.query<CircuitRowRaw>(`SELECT ${COLUMNS} FROM webjobs_circuits ORDER BY platform`);
    return rows.map(toCircuit);
  }

  static async get(db: Db, platform: string): Promise<Circuit | null> {
    if (!(await db.tableExists('webjobs_circuits'))) return null;
    const row = await db.queryOne<CircuitRowRaw>(`SELECT ${COLUMNS} FROM webjobs_circuits WHERE platform = ?`, [
      platform,
    ]);
    return row ? toCircuit(row) : null;
  }

  /** May a request to this platform go now? Takes a half-open trial slot (a lease) when it is a trial. */
  async admit(platform: string): Promise<Admission> {
    const { timeoutMs, halfOpenRequests, leaseMs } = this.policy;
    // The common case, a closed circuit, is one read: no queue, no lock. (A failure recorded a
    // moment ago and still being committed may let one more request through, as a request
    // already in flight when the circuit opens does.)
    // Likewise an open circuit inside its timeout is a refusal on one read.
    await this.ensureRow(platform);
    const seen = await this.db.queryOne<{ state: string; opened_at_ms: number | string | null }>(
      'SELECT state, opened_at_ms FROM webjobs_circuits WHERE platform = ?',
      [platform],
    );
    if (seen?.state === 'closed') return { allowed: true, state: 'closed', lease: null };
    if (seen?.state === 'open' && seen.opened_at_ms !== null) {
      const halfOpenAtMs = Number(seen.opened_at_ms) + timeoutMs;
      if (this.clock.now().getTime() < halfOpenAtMs)
        return { allowed: false, state: 'open', reason: 'circuit open', halfOpenAtMs };
    }
    return this.change<Admission>(platform, (cur, now) => {
      if (cur.state === 'closed') return { next: null, result: { allowed: true, state: 'closed', lease: null } };
      const halfOpenAtMs = (cur.openedAtMs ?? now) + timeoutMs;
      if (cur.state === 'open' && now < halfOpenAtMs) {
        return { next: null, result: { allowed: false, state: 'open', reason: 'circuit open', halfOpenAtMs } };
      }
      const live = cur.state === 'half_open' ? cur.leases.filter((l) => l.untilMs > now) : [];
      if (live.length >= halfOpenRequests) {
        return {
          next: null,
          result: {
            allowed: false,
            state: 'half_open',
            reason: `circuit half-open: all ${halfOpenRequests} trial slot(s) taken`,
            halfOpenAtMs,
          },
        };
      }
      const lease = { id: randomUUID(), untilMs: now + leaseMs };
      const next: Circuit = { ...cur, state: 'half_open', leases: [...live, lease] };
      const why =
        cur.state === 'open'
          ? `open for ${Math.round((now - (cur.openedAtMs ?? now)) / 1000)} s (timeout ${Math.round(timeoutMs / 1000)} s): trial requests allowed`
          : undefined;
      return { next, result: { allowed: true, state: 'half_open', lease: lease.id }, why };
    });
  }

  /** Records a request's outcome; a trial's outcome closes (success) or re-opens (failure) the circuit. */
  record(platform: string, outcome: { ok: boolean; error?: string }, lease: string | null): Promise<void> {
    const { failureThreshold } = this.policy;
    return this.change<void>(
      platform,
      (cur, now) => {
        const next: Circuit = { ...cur, totalRequests: cur.totalRequests + 1 };
        if (!outcome.ok) {
          next.totalFailures = cur.totalFailures + 1;
          next.failureCount = cur.failureCount + 1;
          next.lastFailure = (outcome.error ?? 'failed').slice(0, 500);
        }
        const isTrial = cur.state === 'half_open' && lease !== null && cur.leases.some((l) => l.id === lease);
        if (isTrial) {
          if (outcome.ok) {
            return {
              next: { ...next, state: 'closed', failureCount: 0, openedAtMs: null, leases: [] },
              result: undefined,
              why: 'trial request succeeded',
            };
          }
          return {
            next: { ...next, state: 'open', openedAtMs: now, leases: [] },
            result: undefined,
            why: `trial request failed: ${outcome.error ?? 'failed'}`,
          };
        }
        if (cur.state === 'closed') {
          if (outcome.ok) next.failureCount = 0;
          else if (next.failureCount >= failureThreshold) {
            return {
              next: { ...next, state: 'open', openedAtMs: now, leases: [] },
              result: undefined,
              why: `${next.failureCount} consecutive failure(s), threshold ${failureThreshold} (last: ${outcome.error ?? 'failed'})`,
            };
          }
        }
        // Open, or half-open without a trial slot (a request sent before the circuit opened): counts only.
        return { next, result: undefined };
      },
      outcome.ok && lease === null,
    );
  }

  /** Gives a trial slot back without an outcome (the request was deferred or cancelled). */
  release(platform: string, lease: string): Promise<void> {
    return this.change<void>(platform, (cur) => {
      if (!cur.leases.some((l) => l.id === lease)) return { next: null, result: undefined };
      return { next: { ...cur, leases: cur.leases.filter((l) => l.id !== lease) }, result: undefined };
    });
  }

  /** Closes one circuit (or all): failure count to 0, trial slots freed. Returns the platforms whose state changed. */
  async reset(platform?: string): Promise<Transition[]> {
    const platforms = platform ? [platform] : (await CircuitStore.list(this.db)).map((c) => c.platform);
    const out: Transition[] = [];
    for (const p of platforms) {
      const t = await this.change<Transition | null>(p, (cur, now) => {
        if (cur.state === 'closed' && cur.failureCount === 0 && cur.leases.length === 0)
          return { next: null, result: null };
        const next: Circuit = { ...cur, state: 'closed', failureCount: 0, openedAtMs: null, leases: [] };
        return {
          next,
          result:
            cur.state === 'closed'
              ? null
              : { platform: p, from: cur.state, to: 'closed', why: 'reset by operator', atMs: now },
          why: cur.state === 'closed' ? undefined : 'reset by operator',
        };
      });
      if (t) out.push(t);
    }
    return out;
  }

  /** Writes the changes still waiting to share a commit now (call before awaiting them at the end of a run). */
  flush(): void {
    const queue = queues.get(this.db);
    if (queue?.pending.length) this.drain(queue);
  }

  /** One change, queued behind this connection's others and compare-and-set against every other process. */
  private change<T>(platform: string, fn: (cur: Circuit, now: number) => Change<T>, lazy = false): Promise<T> {
    let q = queues.get(this.db);
    if (!q) {
      q = { pending: [], running: false, timer: null };
      queues.set(this.db, q);
    }
    const queue = q;
    const promise = new Promise<T>((resolve, reject) => {
      queue.pending.push({ store: this, platform, fn, resolve: resolve as (v: unknown) => void, reject });
    });
    if (lazy && queue.pending.length < LAZY_MAX) {
      queue.timer ??= setTimeout(() => this.drain(queue), LAZY_FLUSH_MS);
      return promise;
    }
    this.drain(queue);
    return promise;
  }

  private drain(queue: Queue): void {
    if (queue.timer) clearTimeout(queue.timer);
    queue.timer = null;
    if (!queue.running) {
      queue.running = true;
      void (async () => {
        try {
          while (queue.pending.length) {
            const batch = queue.pending.splice(0, queue.pending.length);
            const platforms = [...new Set(batch.map((c) => c.platform))];
            const groups = platforms.map((p) => ({ platform: p, changes: batch.filter((c) => c.platform === p) }));
            const settle = (g: (typeof groups)[number], out: Awaited<ReturnType<CircuitStore['applyAll']>>) => {
              for (const { index, transition } of out.transitions) g.changes[index]!.store.onTransition(transition);
              g.changes.forEach((c, i) => c.resolve(out.results[i]));
            };
            if (this.db.dialect === 'sqlite') {
              // One BEGIN IMMEDIATE … COMMIT (one fsync) for the whole batch, every platform in it.
              try {
                for (const g of groups) await g.changes[0]!.store.ensureRow(g.platform);
                const outs = await this.db.transaction(
                  async (tx) => {
                    const list = [];
                    for (const g of groups)
                      list.push(
                        await g.changes[0]!.store.applyOnce(
                          tx,
                          g.platform,
                          g.changes.map((c) => c.fn),
                        ),
                      );
                    return list;
                  },
                  { immediate: true },
                );
                groups.forEach((g, i) => settle(g, outs[i]!));
              } catch (err) {
                for (const c of batch) c.reject(err);
              }
              continue;
            }
            for (const g of groups) {
              try {
                settle(
                  g,
                  await g.changes[0]!.store.applyAll(
                    g.platform,
                    g.changes.map((c) => c.fn),
                  ),
                );
              } catch (err) {
                for (const c of g.changes) c.reject(err);
              }
            }
          }
        } finally {
          queue.running = false;
        }
      })();
    }
  }

  /** Reads the circuit and folds the changes over it, in order, without writing. */
  private async fold(db: Db, platform: string, fns: Array<(cur: Circuit, now: number) => Change<unknown>>) {
    const raw = await db.queryOne<CircuitRowRaw>(`SELECT ${COLUMNS} FROM webjobs_circuits WHERE platform = ?`, [
      platform,
    ]);
    if (!raw) throw new Error(`circuit ${platform} vanished while being updated`);
    const first = toCircuit(raw);
    const now = this.clock.now().getTime();
    let cur = first;
    let dirty = false;
    const results: unknown[] = [];
    const transitions: Array<{ index: number; transition: Transition }> = [];
    for (const [index, fn] of fns.entries()) {
      const change = fn(cur, now);
      results.push(change.result);
      if (!change.next) continue;
      if (change.next.state !== cur.state)
        transitions.push({
          index,
          transition: { platform, from: cur.state, to: change.next.state, why: change.why ?? 'changed', atMs: now },
        });
      cur = change.next;
      dirty = true;
    }
    return { first, final: cur, dirty, now, results, transitions };
  }

  /** The compare-and-set write: matches nothing when another process changed the row since it was read. */
  private async write(db: Db, platform: string, readVersion: number, n: Circuit, now: number): Promise<boolean> {
    const res = await db.execute(
      'UPDATE webjobs_circuits SET state = ?, version = version + 1, failure_count = ?, total_requests = ?, total_failures = ?, opened_at_ms = ?, trial_leases = ?, last_failure = ?, updated_at_ms = ? WHERE platform = ? AND version = ?',
      [
        n.state,
        n.failureCount,
        n.totalRequests,
        n.totalFailures,
        n.openedAtMs,
        JSON.stringify(n.leases),
        n.lastFailure,
        now,
        platform,
        readVersion,
      ],
    );
    return res.affectedRows === 1;
  }

  /** Inside the caller's write transaction (SQLite, BEGIN IMMEDIATE): nobody can change the row between read and write. */
  private async applyOnce(tx: Db, platform: string, fns: Array<(cur: Circuit, now: number) => Change<unknown>>) {
    const r = await this.fold(tx, platform, fns);
    if (r.dirty && !(await this.write(tx, platform, r.first.version, r.final, r.now))) {
      throw new Error(`circuit ${platform} changed under a write lock`);
    }
    return r;
  }

  /** Without a transaction (MariaDB): compare-and-set, recomputed from the fresh row until it wins. */
  private async applyAll(platform: string, fns: Array<(cur: Circuit, now: number) => Change<unknown>>) {
    await this.ensureRow(platform);
    for (let attempt = 1; ; attempt++) {
      const r = await this.fold(this.db, platform, fns);
      if (!r.dirty || (await this.write(this.db, platform, r.first.version, r.final, r.now))) return r;
      // Another process won this round. Back off a little under heavy contention.
      if (attempt > 1000) throw new Error(`circuit ${platform}: gave up after ${attempt} contended updates`);
      if (attempt > 3) await sleep(Math.random() * Math.min(20, attempt));
    }
  }

  private async ensureRow(platform: string): Promise<void> {
    if (this.known.has(platform)) return;
    await migrate(this.db);
    await this.db.execute(
      `${insertIgnoreVerb(this.db.dialect)} INTO webjobs_circuits (platform, state, version, failure_count, total_requests, total_failures, opened_at_ms, trial_leases, last_failure, updated_at_ms) VALUES (?, 'closed', 0, 0, 0, 0, NULL, '[]', NULL, ?)`,
      [platform, this.clock.now().getTime()],
    );
    this.known.add(platform);
  }
}

/** The one log line of a transition: platform, from, to, why. */
export function describeTransition(t: Transition): string {
  return `circuit ${t.platform}: ${t.from} -> ${t.to} (${t.why})`;
}
