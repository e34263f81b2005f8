import type { Db } from '../db/types.js';

/**
 * `webjobs_circuits`: one row per platform, created on first use. Every change is a
 * compare-and-set on `version`; `trial_leases` holds the half-open trial slots (JSON list of
 * `{id, untilMs}`), so a trial that hangs or a process that dies frees its slot at expiry.
 */
const DDL = {
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
};

const ensured = new WeakSet<Db>();

export async function ensureCircuitTable(db: Db): Promise<void> {
  if (ensured.has(db)) return;
  await db.execute(db.dialect === 'sqlite' ? DDL.sqlite : DDL.mysql);
  ensured.add(db);
}
