import { MIGRATIONS, type Migration } from './migrations/index.js';
import type { MysqlDb } from './mysql.js';
import type { Db, Dialect } from './types.js';

/** One row per step applied: `webjobs_migrations(id, name, applied_at)`, applied_at in UTC. */
const JOURNAL: Record<Dialect, string> = {
  sqlite: `CREATE TABLE IF NOT EXISTS webjobs_migrations (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at TEXT NOT NULL
)`,
  mysql: `CREATE TABLE IF NOT EXISTS webjobs_migrations (
  id INT NOT NULL PRIMARY KEY,
  name VARCHAR(191) NOT NULL,
  applied_at DATETIME NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
};

/** How long a MariaDB process waits for another one's upgrade before it gives up. */
const LOCK_TIMEOUT_SECONDS = 60;

/** Connections already known to be up to date: the runner and the stores call `migrate` freely. */
const upToDate = new WeakSet<Db>();

/**
 * Brings webjobs' own tables up to date: applies the steps not yet recorded in
 * `webjobs_migrations`, in order. Safe to run from several processes at once. A read-only
 * SQLite connection is left alone (it cannot write, and only reads what exists).
 */
export async function migrate(db: Db): Promise<void> {
  if (upToDate.has(db)) return;
  if (db.dialect === 'sqlite' && (db as { raw?: { readonly?: boolean } }).raw?.readonly) return;
  await applyMigrations(db, MIGRATIONS);
  upToDate.add(db);
}

/** Applies the steps of `migrations` that are not recorded yet; returns those this call applied. */
export async function applyMigrations(db: Db, migrations: readonly Migration[]): Promise<Migration[]> {
  // The common case, every step recorded, costs two reads and takes no lock.
  if ((await pending(db, migrations)).length === 0) return [];
  return db.dialect === 'sqlite' ? applyOnSqlite(db, migrations) : applyOnMysql(db as MysqlDb, migrations);
}

async function pending(db: Db, migrations: readonly Migration[]): Promise<Migration[]> {
  if (!(await db.tableExists('webjobs_migrations'))) return [...migrations];
  const rows = await db.query<{ id: number | string }>('SELECT id FROM webjobs_migrations');
  const applied = new Set(rows.map((r) => Number(r.id)));
  return migrations.filter((m) => !applied.has(m.id));
}

/**
 * SQLite: each step in its own BEGIN IMMEDIATE transaction, which takes the write lock first
 * (a second process waits on its busy timeout), then checks again that the step is missing.
 * DDL is transactional here: a step that fails leaves nothing behind.
 */
async function applyOnSqlite(db: Db, migrations: readonly Migration[]): Promise<Migration[]> {
  const applied: Migration[] = [];
  for (const step of migrations) {
    const ran = await db.transaction(
      async (tx) => {
        await tx.execute(JOURNAL.sqlite);
        if (await isRecorded(tx, step)) return false;
        await step.up(tx);
        await record(tx, step);
        return true;
      },
      { immediate: true },
    );
    if (ran) applied.push(step);
  }
  return applied;
}

/**
 * MariaDB commits every DDL statement by itself, so there is no transaction to hold: the
 * steps run under a named lock (GET_LOCK, per database) on one connection, each is checked
 * again under the lock, applied (idempotent) and recorded at once. A process that dies
 * mid-way frees the lock with its connection; the next run repeats the unrecorded step.
 */
async function applyOnMysql(db: MysqlDb, migrations: readonly Migration[]): Promise<Migration[]> {
  return db.withSession({ set: [], reset: [] }, async (conn) => {
    const lock = await conn.queryOne<{ name: string; got: number | null }>(
      "SELECT LEFT(CONCAT('webjobs_migrate:', DATABASE()), 64) AS name, GET_LOCK(LEFT(CONCAT('webjobs_migrate:', DATABASE()), 64), ?) AS got",
      [LOCK_TIMEOUT_SECONDS],
    );
    if (Number(lock?.got) !== 1)
      throw new Error(
        `another process has been upgrading webjobs' tables for over ${LOCK_TIMEOUT_SECONDS} s (lock ${lock?.name}); try again later`,
      );
    try {
      await conn.execute(JOURNAL.mysql);
      const applied: Migration[] = [];
      for (const step of migrations) {
        if (await isRecorded(conn, step)) continue;
        await step.up(conn);
        await record(conn, step);
        applied.push(step);
      }
      return applied;
    } finally {
      await conn.query('SELECT RELEASE_LOCK(?)', [lock!.name]);
    }
  });
}

async function isRecorded(db: Db, step: Migration): Promise<boolean> {
  return (await db.queryOne('SELECT 1 AS one FROM webjobs_migrations WHERE id = ?', [step.id])) !== undefined;
}

async function record(db: Db, step: Migration): Promise<void> {
  const appliedAt = new Date().toISOString().slice(0, 19).replace('T', ' ');
  await db.execute('INSERT INTO webjobs_migrations (id, name, applied_at) VALUES (?, ?, ?)', [
    step.id,
    step.name,
    appliedAt,
  ]);
}
