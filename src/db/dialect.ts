import type { Db, Dialect } from './types.js';

/**
 * The SQL that differs between SQLite and MariaDB, in one place, so job code reads the same
 * for both engines. Names passed in must already be quoted (db.quote) or checked.
 */

/** `INSERT OR IGNORE` / `INSERT IGNORE`: a row whose key exists is left as it is. */
export function insertIgnoreVerb(dialect: Dialect): string {
  return dialect === 'sqlite' ? 'INSERT OR IGNORE' : 'INSERT IGNORE';
}

/**
 * An upsert: insert the row (or `rowCount` rows), or update `updateColumns` of the row with the same key.
 * Columns are raw names; they are quoted here.
 */
export function upsertSql(
  db: Db,
  table: string,
  columns: readonly string[],
  keyColumns: readonly string[],
  updateColumns: readonly string[] = columns.filter((c) => !keyColumns.includes(c)),
  rowCount = 1,
): string {
  const q = (n: string) => db.quote(n);
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  const head = `INSERT INTO ${q(table)} (${columns.map(q).join(', ')}) VALUES ${Array.from({ length: Math.max(1, rowCount) }, () => tuple).join(', ')}`;
  if (db.dialect === 'sqlite') {
    const set = updateColumns.map((c) => `${q(c)} = excluded.${q(c)}`).join(', ');
    return `${head} ON CONFLICT (${keyColumns.map(q).join(', ')}) DO ${set ? `UPDATE SET ${set}` : 'NOTHING'}`;
  }
  const set = (updateColumns.length ? updateColumns : keyColumns).map((c) => `${q(c)} = VALUES(${q(c)})`).join(', ');
  return `${head} ON DUPLICATE KEY UPDATE ${set}`;
}

/** The calendar day (`YYYY-MM-DD`) of a date-time column. */
export function dayOf(dialect: Dialect, expr: string): string {
  return dialect === 'sqlite' ? `substr(${expr}, 1, 10)` : `DATE(${expr})`;
}

/** The calendar month (`YYYY-MM`) of a date-time column. */
export function yearMonthOf(dialect: Dialect, expr: string): string {
  return dialect === 'sqlite' ? `substr(${expr}, 1, 7)` : `DATE_FORMAT(${expr}, '%Y-%m')`;
}

/**
 * What follows a large purge, per engine: `full` reclaims the space (VACUUM on SQLite, OPTIMIZE
 * TABLE on MariaDB, which copies the table: slow), otherwise only the planner's statistics are
 * refreshed (PRAGMA optimize, ANALYZE TABLE). `name` is what logs and results call it.
 */
export function tableOptimization(db: Pick<Db, 'dialect' | 'quote'>, table: string, full: boolean) {
  if (db.dialect === 'sqlite')
    return full ? { name: 'VACUUM', sql: 'VACUUM' } : { name: 'PRAGMA optimize', sql: 'PRAGMA optimize' };
  const verb = full ? 'OPTIMIZE' : 'ANALYZE';
  return { name: `${verb} TABLE`, sql: `${verb} TABLE ${db.quote(table)}` };
}

/** Runs the table's optimization (see tableOptimization); returns its name. */
export async function optimizeTable(db: Db, table: string, full = false): Promise<string> {
  const { name, sql } = tableOptimization(db, table, full);
  // MariaDB answers OPTIMIZE/ANALYZE with a result set: read it as a query.
  if (db.dialect === 'sqlite') await db.execute(sql);
  else await db.query(sql);
  return name;
}

/** Bytes a table occupies on disk, where the engine reports it (null where it cannot). */
export async function tableSizeBytes(db: Db, table: string): Promise<number | null> {
  if (db.dialect === 'mysql') {
    const row = await db.queryOne<{ bytes: number | null }>(
      'SELECT data_length + index_length AS bytes FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?',
      [table],
    );
    return row?.bytes ?? null;
  }
  try {
    const row = await db.queryOne<{ bytes: number | null }>('SELECT SUM(pgsize) AS bytes FROM dbstat WHERE name = ?', [
      table,
    ]);
    return row?.bytes ?? null;
  } catch {
    return null; // dbstat is compiled out of some SQLite builds
  }
}

/** A quick estimate of a table's row count (exact on SQLite, the engine's estimate on MariaDB). */
export async function estimateRows(db: Db, table: string): Promise<number> {
  if (db.dialect === 'mysql') {
    const row = await db.queryOne<{ n: number | null }>(
      'SELECT table_rows AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?',
      [table],
    );
    return Number(row?.n ?? 0);
  }
  const row = await db.queryOne<{ n: number }>(`SELECT COUNT(*) AS n FROM ${db.quote(table)}`);
  return Number(row?.n ?? 0);
}

/**
 * `INSERT … SELECT` that replaces the rows whose key exists: one statement, computed by the
 * engine. `select` must produce `columns` in order and carry a WHERE clause (SQLite's parser
 * needs one before ON CONFLICT). Columns are raw names; they are quoted here.
 */
export function upsertSelectSql(
  db: Db,
  table: string,
  columns: readonly string[],
  keyColumns: readonly string[],
  select: string,
): string {
  const q = (n: string) => db.quote(n);
  const update = columns.filter((c) => !keyColumns.includes(c));
  const head = `INSERT INTO ${q(table)} (${columns.map(q).join(', ')}) ${select}`;
  if (db.dialect === 'sqlite') {
    const set = update.map((c) => `${q(c)} = excluded.${q(c)}`).join(', ');
    return `${head} ON CONFLICT (${keyColumns.map(q).join(', ')}) DO ${set ? `UPDATE SET ${set}` : 'NOTHING'}`;
  }
  const set = (update.length ? update : keyColumns).map((c) => `${q(c)} = VALUES(${q(c)})`).join(', ');
  return `${head} ON DUPLICATE KEY UPDATE ${set}`;
}

/** ` FOR UPDATE` on MariaDB (a locking read inside a transaction); SQLite's BEGIN IMMEDIATE already serializes writers. */
export function forUpdate(dialect: Dialect): string {
  return dialect === 'mysql' ? ' FOR UPDATE' : '';
}

/** Rounds to `digits` decimals the same way on both engines (for stored means). */
export function roundSql(expr: string, digits: number): string {
  return `ROUND(${expr}, ${Math.floor(digits)})`;
}

/** `1` when the condition holds, else `0`, summed for counts of a condition. */
export function countIf(condition: string): string {
  return `SUM(CASE WHEN ${condition} THEN 1 ELSE 0 END)`;
}

/**
 * `expr` in a form the planner will not satisfy from an index. SQLite otherwise likes to
 * walk a whole single-column index (e.g. `user_id`) to get GROUP BY order for free, looking
 * up every row of the table, instead of range-scanning the date index and sorting the few
 * groups — 20× slower on a million rows. SQLite's unary `+` is a no-op on the value that
 * hides the column from the planner; MariaDB plans these queries well and gets `expr` as is.
 */
export function withoutIndex(dialect: Dialect, expr: string): string {
  return dialect === 'sqlite' ? `+${expr}` : expr;
}

/** Creates an index unless one of that name exists (MySQL has no CREATE INDEX IF NOT EXISTS). Names must be checked already. */
export async function createIndexIfMissing(
  db: Db,
  table: string,
  name: string,
  columns: readonly string[],
): Promise<void> {
  const cols = columns.map((c) => db.quote(c)).join(', ');
  if (db.dialect === 'sqlite') {
    await db.execute(`CREATE INDEX IF NOT EXISTS ${db.quote(name)} ON ${db.quote(table)} (${cols})`);
    return;
  }
  const found = await db.queryOne(
    'SELECT 1 AS one FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = ? AND index_name = ? LIMIT 1',
    [table, name],
  );
  if (found) return;
  try {
    await db.execute(`CREATE INDEX ${db.quote(name)} ON ${db.quote(table)} (${cols})`);
  } catch (err) {
    // Another process created it between the check and now (ER_DUP_KEYNAME): that is the goal.
    if ((err as { errno?: number }).errno !== 1061) throw err;
  }
}
