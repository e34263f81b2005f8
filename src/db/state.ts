import { upsertSql } from './dialect.js';
import { migrate } from './migrate.js';
import type { Db } from './types.js';

/** Small facts webjobs must remember between runs (e.g. how far a purge has gone), one row each. */
const STATE_TABLE = 'webjobs_state';

export async function readState(db: Db, name: string): Promise<string | undefined> {
  if (!(await db.tableExists(STATE_TABLE))) return undefined;
  const row = await db.queryOne<{ value: string }>(`SELECT value FROM ${db.quote(STATE_TABLE)} WHERE name = ?`, [name]);
  return row ? String(row.value) : undefined;
}

/** Written and committed on its own, so it holds before whatever it guards begins. */
export async function writeState(db: Db, name: string, value: string): Promise<void> {
  await migrate(db);
  await db.execute(upsertSql(db, STATE_TABLE, ['name', 'value'], ['name']), [name, value]);
}
