import type { Db } from '../db/types.js';

/**
 * Inserts rows in multi-row statements of `batch` rows, each batch its own transaction, so
 * filling a large table keeps memory flat and never holds one giant transaction.
 */
export async function insertRows(
  db: Db,
  table: string,
  columns: readonly string[],
  rows: Iterable<unknown[]>,
  batch = 500,
): Promise<number> {
  const head = `INSERT INTO ${db.quote(table)} (${columns.map((c) => db.quote(c)).join(', ')}) VALUES `;
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  let pending: unknown[][] = [];
  let total = 0;
  const flush = async () => {
    if (!pending.length) return;
    const params = pending.flat();
    const sql = head + pending.map(() => tuple).join(', ');
    await db.transaction((tx) => tx.execute(sql, params));
    total += pending.length;
    pending = [];
  };
  for (const row of rows) {
    pending.push(row);
    if (pending.length >= batch) await flush();
  }
  await flush();
  return total;
}
