import { createIndexIfMissing } from '../db/dialect.js';
import type { Db } from '../db/types.js';

/** DDL of the tables webjobs owns; created on first use, on either engine. */
const RUNNER_TABLES: Record<string, { sqlite: string; mysql: string }> = {
  webjobs_runs: {
    sqlite: `CREATE TABLE IF NOT EXISTS webjobs_runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id TEXT NOT NULL UNIQUE,
  job TEXT NOT NULL,
  arguments TEXT,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  started_ms INTEGER NOT NULL,
  finished_ms INTEGER,
  duration_ms INTEGER,
  result TEXT,
  error TEXT,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL
)`,
    mysql: `CREATE TABLE IF NOT EXISTS webjobs_runs (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  run_id VARCHAR(64) NOT NULL UNIQUE,
  job VARCHAR(64) NOT NULL,
  arguments TEXT,
  status VARCHAR(16) NOT NULL,
  attempts INT NOT NULL DEFAULT 0,
  started_at DATETIME NOT NULL,
  finished_at DATETIME NULL,
  started_ms BIGINT NOT NULL,
  finished_ms BIGINT NULL,
  duration_ms BIGINT NULL,
  result LONGTEXT,
  error TEXT,
  host VARCHAR(255) NOT NULL,
  pid INT NOT NULL,
  KEY idx_webjobs_runs_job (job, started_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  },
  webjobs_locks: {
    sqlite: `CREATE TABLE IF NOT EXISTS webjobs_locks (
  name TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  run_id TEXT,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  acquired_at_ms INTEGER NOT NULL,
  lease_until_ms INTEGER NOT NULL
)`,
    mysql: `CREATE TABLE IF NOT EXISTS webjobs_locks (
  name VARCHAR(191) NOT NULL PRIMARY KEY,
  owner VARCHAR(64) NOT NULL,
  run_id VARCHAR(64),
  host VARCHAR(255) NOT NULL,
  pid INT NOT NULL,
  acquired_at_ms BIGINT NOT NULL,
  lease_until_ms BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  },
};

const ensured = new WeakSet<Db>();

export async function ensureRunnerTables(db: Db): Promise<void> {
  if (ensured.has(db)) return;
  if (db.dialect === 'sqlite' && (db as { raw?: { readonly?: boolean } }).raw?.readonly) return;
  for (const ddl of Object.values(RUNNER_TABLES)) {
    if (db.dialect === 'sqlite') {
      await db.execute(ddl.sqlite);
    } else {
      await db.execute(ddl.mysql);
    }
  }
  if (db.dialect === 'sqlite') {
    await db.execute('CREATE INDEX IF NOT EXISTS idx_webjobs_runs_job ON webjobs_runs (job, started_at)');
  }
  // status, history and catch-up read "the newest run of a job": newest first by started_ms, without a sort.
  await createIndexIfMissing(db, 'webjobs_runs', 'idx_webjobs_runs_job_ms', ['job', 'started_ms']);
  ensured.add(db);
}
