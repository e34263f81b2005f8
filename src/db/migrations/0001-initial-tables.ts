import { createIndexIfMissing } from '../dialect.js';
import type { Dialect } from '../types.js';
import type { Migration } from './types.js';

/**
 * The tables as webjobs created them on first use before it had migrations (up to e89b08c),
 * column for column, so that those databases and fresh ones end up the same.
 */
const TABLES: ReadonlyArray<Record<Dialect, string>> = [
  {
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
  {
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
  // warm-cache's circuit breakers: every change is a compare-and-set on `version`; `trial_leases`
  // holds the half-open trial slots (JSON list of `{id, untilMs}`), freed at expiry.
  {
    sqlite: `CREATE TABLE IF NOT EXISTS webjobs_circuits (
  platform TEXT PRIMARY KEY,
  state TEXT NOT NULL DEFAULT 'closed',
  version INTEGER NOT NULL DEFAULT 0,
  failure_count INTEGER NOT NULL DEFAULT 0,
  total_requests INTEGER NOT NULL DEFAULT 0,
  total_failures INTEGER NOT NULL DEFAULT 0,
  opened_at_ms INTEGER,
  trial_leases TEXT NOT NULL DEFAULT '[]',
  last_failure TEXT,
  updated_at_ms INTEGER NOT NULL
)`,
    mysql: `CREATE TABLE IF NOT EXISTS webjobs_circuits (
  platform VARCHAR(191) NOT NULL PRIMARY KEY,
  state VARCHAR(16) NOT NULL DEFAULT 'closed',
  version BIGINT NOT NULL DEFAULT 0,
  failure_count INT NOT NULL DEFAULT 0,
  total_requests BIGINT NOT NULL DEFAULT 0,
  total_failures BIGINT NOT NULL DEFAULT 0,
  opened_at_ms BIGINT NULL,
  trial_leases TEXT NOT NULL,
  last_failure VARCHAR(500) NULL,
  updated_at_ms BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  },
  // Small facts kept between runs (e.g. how far a purge has gone). No ENGINE/CHARSET clause on
  // MariaDB: it never had one, so it takes the database's defaults, as on existing installs.
  {
    sqlite: `CREATE TABLE IF NOT EXISTS "webjobs_state" (name VARCHAR(191) NOT NULL PRIMARY KEY, value TEXT NOT NULL)`,
    mysql: 'CREATE TABLE IF NOT EXISTS `webjobs_state` (name VARCHAR(191) NOT NULL PRIMARY KEY, value TEXT NOT NULL)',
  },
];

export const initialTables: Migration = {
  id: 1,
  name: 'initial-tables',
  async up(db) {
    for (const ddl of TABLES) await db.execute(ddl[db.dialect]);
    // MariaDB declares this one inside CREATE TABLE.
    if (db.dialect === 'sqlite')
      await db.execute('CREATE INDEX IF NOT EXISTS idx_webjobs_runs_job ON webjobs_runs (job, started_at)');
    // status, history and catch-up read "the newest run of a job": newest first by started_ms, without a sort.
    await createIndexIfMissing(db, 'webjobs_runs', 'idx_webjobs_runs_job_ms', ['job', 'started_ms']);
  },
};
