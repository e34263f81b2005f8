import os from 'node:os';
import type { Settings } from '../config/settings.js';
import type { TableMap } from '../config/tables.js';
import { upsertSql } from '../db/dialect.js';
import { createTableSql, REFERENCE_TABLES } from '../db/schema.js';
import type { Db } from '../db/types.js';
import { formatLocalDateTime } from '../util/time.js';

/**
 * `webjobs pause [JOB]` / `webjobs resume [JOB]`: kept in the settings table under
 * `job-paused:<job>` (or `job-paused:*` for every job), the value saying since when and by whom.
 * A paused job's runs exit 0 as skipped with that reason; `--force` runs it anyway.
 */
const PAUSE_PREFIX = 'job-paused:';
export const ALL_JOBS = '*';

const pauseKey = (job: string) => `${PAUSE_PREFIX}${job}`;

const isSet = (v: string | undefined): v is string => v !== undefined && v.trim() !== '' && v.trim() !== '0';

/** The reason a job is paused, or null when it may run. */
export function pausedReason(settings: Settings, job: string): string | null {
  const own = settings.raw(pauseKey(job));
  if (isSet(own))
    return `${job} is paused (${own.trim() === '1' ? 'by the settings table' : own.trim()}); run it by hand with --force, or: webjobs resume ${job}`;
  const all = settings.raw(pauseKey(ALL_JOBS));
  if (isSet(all))
    return `every job is paused (${all.trim() === '1' ? 'by the settings table' : all.trim()}); run it by hand with --force, or: webjobs resume`;
  return null;
}

/** The paused jobs (`*` for all) and their notes, from settings. */
export function pausedJobs(settings: Settings): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of settings.entries())
    if (k.startsWith(PAUSE_PREFIX) && isSet(v)) out.set(k.slice(PAUSE_PREFIX.length), v);
  return out;
}

export function pauseNote(now: Date, timeZone: string, note?: string): string {
  const who = `${os.userInfo().username}@${os.hostname()}`;
  return `since ${formatLocalDateTime(now, timeZone)} by ${who}${note ? `: ${note}` : ''}`;
}

/** Writes (value) or removes (null) a pause key; creates the settings table when the app has none yet. */
export async function setPause(db: Db, tables: TableMap, job: string, value: string | null): Promise<boolean> {
  const table = tables.table('settings');
  const keyCol = tables.column('settings', 'key');
  const valueCol = tables.column('settings', 'value');
  if (!(await db.tableExists(table))) {
    if (value === null) return false;
    const spec = REFERENCE_TABLES.find((t) => t.name === 'settings');
    if (!spec) throw new Error('reference schema has no settings table');
    const renamed = {
      ...spec,
      name: table,
      columns: spec.columns.map((c) => ({ ...c, name: c.name === 'key' ? keyCol : valueCol })),
      primaryKey: [keyCol],
    };
    for (const stmt of createTableSql(db, renamed)) await db.execute(stmt);
  }
  if (value === null) {
    const res = await db.execute(`DELETE FROM ${db.quote(table)} WHERE ${db.quote(keyCol)} = ?`, [pauseKey(job)]);
    return res.affectedRows > 0;
  }
  await db.execute(upsertSql(db, table, [keyCol, valueCol], [keyCol]), [pauseKey(job), value]);
  return true;
}
