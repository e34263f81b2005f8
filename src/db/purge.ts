import { throwIfAborted } from '../util/errors.js';
import type { Db } from './types.js';

export interface PurgeSpec {
  /** Table name, already checked (checkIdentifier) or read from the catalog. */
  table: string;
  /** A unique, ordered key column (the primary key): chunks are ranges of it. */
  keyColumn: string;
  /** The rows to delete: an SQL condition over quoted names, values as `?`. */
  where: string;
  params?: readonly unknown[];
  chunkSize: number;
  signal?: AbortSignal;
  /** Called after each committed chunk with the running total. */
  onChunk?: (deletedSoFar: number) => void;
}

export interface PurgeResult {
  deleted: number;
  chunks: number;
  /** The longest single statement, so operators can see the app was never held for long. */
  longestStatementMs: number;
}

/**
 * Deletes the rows matching `where` in chunks of `chunkSize`, each chunk one short
 * transaction bounded by a primary-key range, so the app's own reads and writes on the table
 * never wait long behind it (MariaDB locks only the range; SQLite holds the write lock only
 * for one chunk). Stops between chunks when the signal fires; committed chunks stay deleted.
 */
export async function purgeInChunks(db: Db, spec: PurgeSpec): Promise<PurgeResult> {
  const t = db.quote(spec.table);
  const k = db.quote(spec.keyColumn);
  const params = spec.params ?? [];
  const result: PurgeResult = { deleted: 0, chunks: 0, longestStatementMs: 0 };
  let lastKey: unknown = undefined;

  const timed = async <T>(fn: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await fn();
    } finally {
      result.longestStatementMs = Math.max(result.longestStatementMs, performance.now() - started);
    }
  };

  for (;;) {
    throwIfAborted(spec.signal);
    const after = lastKey === undefined ? '' : ` AND ${k} > ?`;
    const afterParams = lastKey === undefined ? [] : [lastKey];
    const bound = await timed(() =>
      db.queryOne<{ upper: unknown }>(
        `SELECT MAX(${k}) AS upper FROM (SELECT ${k} FROM ${t} WHERE (${spec.where})${after} ORDER BY ${k} LIMIT ${Math.max(1, Math.floor(spec.chunkSize))}) AS chunk`,
        [...params, ...afterParams],
      ),
    );
    const upper = bound?.upper;
    if (upper === null || upper === undefined) break;

    const res = await timed(() =>
      db.transaction((tx) =>
        tx.execute(`DELETE FROM ${t} WHERE (${spec.where})${after} AND ${k} <= ?`, [...params, ...afterParams, upper]),
      ),
    );
    result.deleted += res.affectedRows;
    result.chunks++;
    lastKey = upper;
    spec.onChunk?.(result.deleted);
  }
  return result;
}

/** Counts what purgeInChunks would delete, for --dry-run. */
export async function countMatching(db: Db, table: string, where: string, params: readonly unknown[] = []): Promise<number> {
  const row = await db.queryOne<{ n: number }>(`SELECT COUNT(*) AS n FROM ${db.quote(table)} WHERE (${where})`, params);
  return Number(row?.n ?? 0);
}
