import { Settings } from '../../config/settings.js';
import { TableMap } from '../../config/tables.js';
import { openDatabase } from '../../db/connect.js';
import type { Db } from '../../db/types.js';
import { withRetries } from '../retry.js';
import type { RunState } from '../run-state.js';

interface Connected {
  db: Db;
  tables: TableMap;
  settings: Settings;
}

/**
 * Phase 1: the database (opened with retries, unless the caller passed one), its table map and
 * settings. A malformed setting the job reads is bad configuration: exit 2 before anything is written.
 */
export async function connect(run: RunState): Promise<Connected> {
  if (!run.db) run.db = await openWithRetries(run);
  const db = run.db;
  const tables = new TableMap(run.env.config);
  const settings = await Settings.load(db, run.env.config, tables);
  for (const key of run.def.settingKeys ?? []) settings.check(key);
  run.logger.info(`${run.def.name} started${run.request.dryRun ? ' (dry run: nothing will be written)' : ''}`);
  return { db, tables, settings };
}

async function openWithRetries(run: RunState): Promise<Db> {
  const { env } = run;
  const open =
    env.openDb ?? ((url: string) => openDatabase(url, { busyTimeoutMs: env.config.value('database.busyTimeoutMs') }));
  const what = `connecting to ${run.logger.mask(env.databaseUrl)}`;
  return (await withRetries(run.policy, env, what, () => open(env.databaseUrl), run.signal)).value;
}
