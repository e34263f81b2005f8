import { throwIfAborted } from '../util/errors.js';
import type { MysqlDb } from './mysql.js';
import type { Db } from './types.js';

/** What the purge reports after each committed chunk. */
interface PurgeProgress {
  deleted: number;
  chunks: number;
  /** The size the next chunk will have (it adapts when targetStatementMs is set). */
  chunkSize: number;
  /** The last committed key: everything matching at or below it is gone. */
  lastKey: unknown;
  longestStatementMs: number;
}

export interface PurgeSpec {
  /** Table name, already checked (checkIdentifier) or read from the catalog. */
  table: string;
  /**
   * A unique, ordered key column (the primary key): chunks are ranges of it. On SQLite a
   * rowid table is walked by its rowid whatever this names (see purgeKeyFor), which is faster.
   */
  keyColumn: string;
  /** The rows to delete: an SQL condition over quoted names, values as `?`. */
  where: string;
  /**
   * The time column `where` bounds (a created_at, an expires_at): walk the matching rows in
   * (this column, key) order through an index whose first column it is, so every matching row
   * is reached whatever its key (a late row, with an old time and a high id, included) and only
   * matching rows are read. Without such an index the walk falls back to the key order up to
   * the table's highest key (complete too, but it reads every key in that range; `ceiling` is
   * then not used, since it assumes keys grow with time). See PurgeResult.walkedBy.
   */
  orderColumn?: string;
  params?: readonly unknown[];
  /**
   * Rows per chunk: the first chunk's size, and the most rows a chunk deletes unless
   * `maxChunkSize` allows more (the chunk shrinks below it when `targetStatementMs` asks).
   */
  chunkSize: number;
  /**
   * With `targetStatementMs`: the chunk may grow up to this many rows while statements stay
   * fast (default: `chunkSize`, i.e. never above it).
   */
  maxChunkSize?: number;
  /**
   * Keep each DELETE near this duration: the next chunk is scaled by target / duration,
   * at most halved or grown by a quarter per step, between 1 and `maxChunkSize` rows.
   * Unset: fixed chunks of `chunkSize`.
   */
  targetStatementMs?: number;
  /**
   * The highest key that can match, when the caller knows one cheaply (e.g. the first row
   * past a date range). Default: the table's highest key when the purge starts.
   */
  ceiling?: unknown;
  signal?: AbortSignal;
  /** Called after each committed chunk. */
  onChunk?: (progress: PurgeProgress) => void;
  /** Pause between chunks (ms), so the app's writers get the table in between. */
  sleepMs?: number;
  /** How to wait (tests inject one that moves a manual clock); setTimeout otherwise. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Stop cleanly before starting a chunk once this many ms have passed (the budget). */
  maxRuntimeMs?: number;
  /** The clock the budget is measured on, in ms (default: performance.now). */
  now?: () => number;
  /** Pause while `replicaLag()` reports more than this many seconds. */
  maxLagSeconds?: number;
  /** The largest lag of the replicas in seconds (null: unknown, treated as lagging). */
  replicaLag?: () => Promise<number | null>;
  /** MariaDB: read the next chunk's bound on a second connection while a chunk deletes (default true). */
  pipeline?: boolean;
  /** Called when the purge waits for replicas. */
  onLagWait?: (lagSeconds: number | null) => void;
  /**
   * MariaDB/MySQL: run the DELETEs on one connection in a READ COMMITTED session — no gap
   * locks, and the rows of a chunk's range that do not match are unlocked at once, so the app's
   * inserts and updates in that range do not wait for the chunk. Default true; skipped where
   * the server writes a statement-format binary log (which refuses such DELETEs).
   */
  readCommitted?: boolean;
}

export interface PurgeResult {
  deleted: number;
  chunks: number;
  /** The longest single statement, so operators can see the app was never held for long. */
  longestStatementMs: number;
  /** Why it stopped before the end (the budget), or null when every matching row is gone. */
  stoppedEarly: 'max-runtime' | null;
  /** Matching rows left when it stopped early (counted then), 0 otherwise. */
  remaining: number;
  /** Time spent waiting for replicas to catch up. */
  lagWaitMs: number;
  /** MariaDB/MySQL: the DELETEs ran READ COMMITTED (see PurgeSpec.readCommitted). */
  readCommitted: boolean;
  /** The index the walk went by: the order column's index, or null for the key order. */
  walkedBy: string | null;
}

/** What a purge statement does: find the walk's end, find a chunk's bound, or delete a chunk. */
export type PurgeStatementKind = 'ceiling' | 'bound' | 'delete';

/** One purge statement as benches see it: how long it took, what it did, and (a DELETE) how many rows it removed. */
interface PurgeStatement {
  ms: number;
  kind: PurgeStatementKind;
  rows?: number;
}

type StatementObserver = (statement: PurgeStatement) => void;

/** Sees every statement a purge runs (benches take percentiles from it); null: nobody. */
let statementObserver: StatementObserver | null = null;

/** Sets (or with null clears) the observer of every purge statement, for benches. */
export function observePurgeStatements(fn: StatementObserver | null): void {
  statementObserver = fn;
}

const defaultSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/**
 * The column to walk a table by. SQLite: the rowid when the table has one (an INTEGER PRIMARY
 * KEY is the rowid anyway; for a text key such as cache's the rowid b-tree is the table itself,
 * so ranges of it are the cheapest to find and delete). MariaDB: the given primary key.
 */
export async function purgeKeyFor(
  db: Db,
  table: string,
  keyColumn: string,
): Promise<{ column: string; rowid: boolean }> {
  if (db.dialect !== 'sqlite') return { column: keyColumn, rowid: false };
  const cols = await db.columnsOf(table);
  if (cols.some((c) => c.toLowerCase() === 'rowid')) return { column: keyColumn, rowid: false };
  try {
    await db.query(`SELECT rowid FROM ${db.quote(table)} LIMIT 0`);
    return { column: 'rowid', rowid: true };
  } catch {
    return { column: keyColumn, rowid: false }; // WITHOUT ROWID: its primary key is the table
  }
}

/** The hint that makes the engine walk the key's own index, not an index on the WHERE's column. */
function keyOrderHint(db: Db, key: { column: string; rowid: boolean }, keyColumn: string): string {
  if (db.dialect === 'mysql') return ' FORCE INDEX (PRIMARY)';
  // SQLite: NOT INDEXED still allows rowid ranges; for an INTEGER PRIMARY KEY the key is the rowid.
  return key.rowid || keyColumn === 'rowid' ? ' NOT INDEXED' : '';
}

/**
 * An index on `column` alone (not partial), whose entries are therefore in (column, primary key)
 * order on both engines (InnoDB and SQLite append the key to every secondary index entry), or
 * null. An index with more columns would not give that order, so it is not used.
 */
export async function orderIndexFor(db: Db, table: string, column: string): Promise<string | null> {
  if (db.dialect === 'sqlite') {
    const rows = await db.query<{ name: string; n: number; first: string }>(
      `SELECT il.name AS name, (SELECT COUNT(*) FROM pragma_index_info(il.name)) AS n,
              (SELECT ii.name FROM pragma_index_info(il.name) ii WHERE ii.seqno = 0) AS first
         FROM pragma_index_list(?) il WHERE il."partial" = 0 ORDER BY il.name`,
      [table],
    );
    const found = rows.find((r) => Number(r.n) === 1 && String(r.first).toLowerCase() === column.toLowerCase());
    return found ? String(found.name) : null;
  }
  const row = await db.queryOne<{ name: string }>(
    `SELECT index_name AS name FROM information_schema.statistics
      WHERE table_schema = DATABASE() AND table_name = ?
      GROUP BY index_name
     HAVING COUNT(*) = 1 AND MAX(column_name) = ? AND MAX(sub_part) IS NULL
      ORDER BY index_name LIMIT 1`,
    [table, column],
  );
  return row ? String(row.name) : null;
}

/** One step of a walk's condition: SQL over quoted names and its parameters. */
interface Clause {
  sql: string;
  params: unknown[];
}

/**
 * How the purge moves through the table: a bound is where a chunk ends, and the next chunk
 * starts strictly after it. Two walks: by the key (a bound is a key) or by (order column, key)
 * (a bound is that pair; the order column's own range makes the engine use its index).
 */
interface Walk {
  /** The index the walk goes by; null: the key order. */
  index: string | null;
  /** The hint for the SELECTs that find bounds (and SQLite's DELETE). */
  hint: string;
  deleteHint: string;
  select: string;
  ascending: string;
  descending: string;
  /** Extra limit on the rows a bound may be (the key walk's ceiling). */
  limit: Clause;
  read(row: Record<string, unknown>): unknown;
  after(from: unknown): Clause;
  upTo(upper: unknown): Clause;
  /** True when nothing can come after this bound (the key walk reached its ceiling). */
  isEnd(upper: unknown): boolean;
}

function keyWalk(db: Db, k: string, hint: string, ceiling: unknown): Walk {
  return {
    index: null,
    hint,
    deleteHint: '',
    select: `${k} AS upper`,
    ascending: k,
    descending: `${k} DESC`,
    limit: { sql: ` AND ${k} <= ?`, params: [ceiling] },
    read: (row) => row.upper,
    after: (from) => ({ sql: ` AND ${k} > ?`, params: [from] }),
    upTo: (upper) => ({ sql: ` AND ${k} <= ?`, params: [upper] }),
    isEnd: (upper) => upper === ceiling,
  };
}

/**
 * The (order column, key) keyset walk. The redundant `o >= ?` / `o <= ?` give both engines a
 * plain range on the index; the OR settles the rows that share the bound's time by key.
 */
function orderWalk(db: Db, o: string, k: string, index: string): Walk {
  const hint = db.dialect === 'mysql' ? ` FORCE INDEX (${db.quote(index)})` : ` INDEXED BY ${db.quote(index)}`;
  const pair = (b: unknown) => b as [unknown, unknown];
  return {
    index,
    hint,
    // MariaDB takes no index hint on a single-table DELETE; its bounded range picks the index anyway.
    deleteHint: db.dialect === 'sqlite' ? hint : '',
    select: `${o} AS o, ${k} AS upper`,
    ascending: `${o}, ${k}`,
    descending: `${o} DESC, ${k} DESC`,
    limit: { sql: '', params: [] },
    read: (row) => [row.o, row.upper],
    after: (from) => ({
      sql: ` AND ${o} >= ? AND (${o} > ? OR ${k} > ?)`,
      params: [pair(from)[0], pair(from)[0], pair(from)[1]],
    }),
    upTo: (upper) => ({
      sql: ` AND ${o} <= ? AND (${o} < ? OR ${k} <= ?)`,
      params: [pair(upper)[0], pair(upper)[0], pair(upper)[1]],
    }),
    isEnd: () => false,
  };
}

/** The walk for a spec: the order column's index when there is one, else the key up to a ceiling. */
async function chooseWalk(
  db: Db,
  spec: PurgeSpec,
  timed: <T>(kind: PurgeStatementKind, fn: () => Promise<T>) => Promise<T>,
): Promise<Walk | null> {
  const t = db.quote(spec.table);
  const key = await purgeKeyFor(db, spec.table, spec.keyColumn);
  const k = key.column === 'rowid' ? 'rowid' : db.quote(key.column);
  if (spec.orderColumn !== undefined) {
    const index = await orderIndexFor(db, spec.table, spec.orderColumn);
    if (index) return orderWalk(db, db.quote(spec.orderColumn), k, index);
  }
  // The walk ends at the table's highest key now (one index probe; rows that start matching
  // later are the next run's). Asking for the highest *matching* key instead would scan every
  // matching index entry in one statement: 0.6 s for 500,000 expired cache rows. A caller's
  // ceiling assumes keys grow with time, which an order column says they need not.
  let ceiling = spec.orderColumn === undefined ? spec.ceiling : undefined;
  if (ceiling === undefined || ceiling === null) {
    const top = await timed('ceiling', () => db.queryOne<{ top: unknown }>(`SELECT MAX(${k}) AS top FROM ${t}`));
    ceiling = top?.top;
  }
  if (ceiling === null || ceiling === undefined) return null;
  return keyWalk(db, k, keyOrderHint(db, key, spec.keyColumn), ceiling);
}

/**
 * Deletes every row matching `where` in chunks of at most `chunkSize`, each chunk one short
 * transaction bounded by a range of the walk (see Walk), so the app's own reads and writes on
 * the table never wait long behind it (MariaDB locks only the range; SQLite holds the write
 * lock only for one chunk). With `orderColumn` and its index the walk goes through the
 * matching rows in (time, key) order; otherwise by key, bounded above by the highest key at
 * the start (or the caller's cheaper ceiling). Stops between chunks when the signal fires
 * or the budget is spent; committed chunks stay deleted. Deletes every matching row, the
 * highest key included (no kept "last auto-increment row").
 */
export async function purgeInChunks(db: Db, spec: PurgeSpec): Promise<PurgeResult> {
  const t = db.quote(spec.table);
  const params = spec.params ?? [];
  const chunk = Math.max(1, Math.floor(spec.chunkSize));
  const maxChunk = Math.max(chunk, Math.floor(spec.maxChunkSize ?? chunk));
  const now = spec.now ?? (() => performance.now());
  const sleep = spec.sleep ?? defaultSleep;
  const started = now();
  const spent = () => spec.maxRuntimeMs !== undefined && now() - started >= spec.maxRuntimeMs;
  const result: PurgeResult = {
    deleted: 0,
    chunks: 0,
    longestStatementMs: 0,
    stoppedEarly: null,
    remaining: 0,
    lagWaitMs: 0,
    readCommitted: false,
    walkedBy: null,
  };

  const timed = async <T>(kind: PurgeStatementKind, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    let rows: number | undefined;
    try {
      const value = await fn();
      if (kind === 'delete') rows = (value as { affectedRows?: number }).affectedRows;
      return value;
    } finally {
      const took = performance.now() - t0;
      result.longestStatementMs = Math.max(result.longestStatementMs, took);
      statementObserver?.({ ms: took, kind, rows });
    }
  };

  const walk = await chooseWalk(db, spec, timed);
  if (!walk) return result;
  result.walkedBy = walk.index;
  let size = chunk;

  let lastKey: unknown = undefined;
  const stop = async () => {
    result.stoppedEarly = 'max-runtime';
    const after = lastKey === undefined ? { sql: '', params: [] } : walk.after(lastKey);
    const left = await db.queryOne<{ n: number }>(`SELECT COUNT(*) AS n FROM ${t} WHERE (${spec.where})${after.sql}`, [
      ...params,
      ...after.params,
    ]);
    result.remaining = Number(left?.n ?? 0);
  };
  // The chunk's upper bound: the `rows`-th matching row after `from` in the walk's order, read
  // by one OFFSET probe along the walk's index (no derived table, no sort, one row back). When
  // fewer rows are left, the last of them (a scan of less than one chunk) ends the walk;
  // undefined: none left.
  const selectUpper = async (from: unknown, rows: number): Promise<unknown> => {
    const after = from === undefined ? { sql: '', params: [] } : walk.after(from);
    const sql = `SELECT ${walk.select} FROM ${t}${walk.hint} WHERE (${spec.where})${after.sql}${walk.limit.sql}`;
    const args = [...params, ...after.params, ...walk.limit.params];
    const nth = await timed('bound', () =>
      db.queryOne<Record<string, unknown>>(`${sql} ORDER BY ${walk.ascending} LIMIT 1 OFFSET ${rows - 1}`, args),
    );
    if (nth) return walk.read(nth);
    const last = await timed('bound', () =>
      db.queryOne<Record<string, unknown>>(`${sql} ORDER BY ${walk.descending} LIMIT 1`, args),
    );
    return last ? walk.read(last) : undefined;
  };
  // Inside the caller's transaction the isolation level is the caller's: the DELETEs run there as they are.
  // The MySQL module (and mysql2) is loaded only for a MySQL database: a SQLite run never pays for it.
  const mysql =
    db.dialect === 'mysql' && spec.readCommitted !== false && !(db as MysqlDb).inTransaction
      ? await import('./mysql.js')
      : null;
  result.readCommitted = mysql !== null && (await mysql.readCommittedAllowed(db as MysqlDb));
  const session =
    mysql && result.readCommitted
      ? (fn: (on: Db) => Promise<void>) => (db as MysqlDb).withSession(mysql.READ_COMMITTED, fn)
      : (fn: (on: Db) => Promise<void>) => fn(db);

  // Between chunks: cancellation, the budget, the replicas. False: stop (after counting what is left).
  const mayContinue = async (): Promise<boolean> => {
    throwIfAborted(spec.signal);
    if (result.chunks > 0 && spent()) return false;
    if (spec.maxLagSeconds !== undefined && spec.replicaLag && !(await waitForReplicas(spec, result, sleep, spent)))
      return false;
    return true;
  };
  const chunkDone = (affected: number, took: number, upper: unknown): void => {
    if (spec.targetStatementMs !== undefined) size = nextChunkSize(size, took, spec.targetStatementMs, maxChunk);
    result.deleted += affected;
    result.chunks++;
    lastKey = upper;
    spec.onChunk?.({
      deleted: result.deleted,
      chunks: result.chunks,
      chunkSize: size,
      lastKey,
      longestStatementMs: result.longestStatementMs,
    });
  };
  const pause = async () => {
    if (spec.sleepMs && spec.sleepMs > 0) await sleep(spec.sleepMs, spec.signal);
  };

  // MariaDB: the next chunk's bound is read on another connection while this chunk deletes
  // (a plain consistent read of the rows after this chunk: no lock, no overlap).
  const pipeline = db.dialect === 'mysql' && spec.pipeline !== false;
  let pending: Promise<unknown> | null = null;
  const settle = async () => {
    if (pending) await pending.catch(() => undefined);
    pending = null;
  };
  await session(async (on) => {
    try {
      for (;;) {
        if (!(await mayContinue())) {
          await settle();
          await stop();
          break;
        }
        const upper: unknown = pending ? await pending : await selectUpper(lastKey, size);
        pending = null;
        if (upper === null || upper === undefined) break;

        const after = lastKey === undefined ? { sql: '', params: [] } : walk.after(lastKey);
        const upTo = walk.upTo(upper);
        const d0 = performance.now();
        // One autocommit statement: the chunk is its own transaction, committed when it returns,
        // in one round trip (BEGIN … COMMIT would add two, which a busy server makes expensive).
        const deleting = timed('delete', () =>
          on.execute(`DELETE FROM ${t}${walk.deleteHint} WHERE (${spec.where})${after.sql}${upTo.sql}`, [
            ...params,
            ...after.params,
            ...upTo.params,
          ]),
        );
        if (pipeline && !walk.isEnd(upper)) {
          pending = selectUpper(upper, size);
          pending.catch(() => undefined); // handled where it is awaited
        }
        const res = await deleting;
        chunkDone(res.affectedRows, performance.now() - d0, upper);
        if (walk.isEnd(upper)) break;
        await pause();
      }
    } finally {
      await settle();
    }
  });
  return result;
}

/**
 * The next chunk's size for a statement target: scaled by target / duration (the DELETE's time
 * is close to proportional to its rows), but at most halved or grown by a quarter in one step so one
 * noisy statement on a busy server does not swing it, between 1 and `max` rows.
 */
function nextChunkSize(size: number, tookMs: number, targetMs: number, max: number): number {
  const factor = Math.min(1.25, Math.max(0.5, targetMs / Math.max(tookMs, 0.001)));
  return Math.max(1, Math.min(max, Math.floor(size * factor)));
}

/** Waits (1 s steps) while the replicas lag more than allowed; gives up when the budget is spent. */
async function waitForReplicas(
  spec: PurgeSpec,
  result: PurgeResult,
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>,
  spent: () => boolean,
): Promise<boolean> {
  const max = spec.maxLagSeconds ?? Infinity;
  const now = spec.now ?? (() => performance.now());
  for (;;) {
    throwIfAborted(spec.signal);
    const lag = await spec.replicaLag!();
    if (lag !== null && lag <= max) return true;
    if (spent()) return false;
    spec.onLagWait?.(lag);
    const t0 = now();
    await sleep(1000, spec.signal);
    result.lagWaitMs += now() - t0;
  }
}

/** Counts what purgeInChunks would delete, for --dry-run. */
export async function countMatching(
  db: Db,
  table: string,
  where: string,
  params: readonly unknown[] = [],
): Promise<number> {
  const row = await db.queryOne<{ n: number }>(`SELECT COUNT(*) AS n FROM ${db.quote(table)} WHERE (${where})`, params);
  return Number(row?.n ?? 0);
}
