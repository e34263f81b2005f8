import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyMigrations, migrate } from '../../src/db/migrate.js';
import { MIGRATIONS, type Migration } from '../../src/db/migrations/index.js';
import { openDatabase } from '../../src/db/connect.js';
import { SqliteDb } from '../../src/db/sqlite.js';
import type { Db, Row } from '../../src/db/types.js';
import { ROOT } from '../support/cli.js';
import { ENGINES, tempDir, type TestDatabase } from '../support/databases.js';

const OWN_TABLES = ['webjobs_circuits', 'webjobs_locks', 'webjobs_migrations', 'webjobs_runs', 'webjobs_state'];
const FIXTURES = path.join(ROOT, 'test/db/fixtures');

/** Loads the tables and rows that webjobs at e89b08c made (see fixtures/README.md). */
async function loadE89b08c(db: Db): Promise<void> {
  if (db instanceof SqliteDb) {
    db.raw.exec(fs.readFileSync(path.join(FIXTURES, 'e89b08c-sqlite.sql'), 'utf8'));
    return;
  }
  // One statement per chunk: mariadb-dump writes no raw newline inside a value.
  const sql = fs.readFileSync(path.join(FIXTURES, 'e89b08c-mariadb.sql'), 'utf8');
  for (const statement of sql.split(/;\n/).filter((s) => s.replace(/^--.*$/gm, '').trim())) await db.execute(statement);
}

async function ownTables(db: Db): Promise<string[]> {
  return (await db.listTables()).filter((t) => t.startsWith('webjobs_'));
}

/** Columns (type, null, default, key), indexes (unique, columns) and, on MariaDB, engine and collation. */
async function schemaOf(db: Db): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const table of await ownTables(db)) {
    if (db.dialect === 'sqlite') {
      const columns = await db.query('SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_xinfo(?)', [
        table,
      ]);
      const indexes = await db.query<{ name: string }>(
        'SELECT name, "unique", origin, partial FROM pragma_index_list(?) ORDER BY name',
        [table],
      );
      for (const index of indexes as Row[])
        index.columns = (
          await db.query<{ name: string }>('SELECT name FROM pragma_index_info(?) ORDER BY seqno', [index.name])
        ).map((c) => c.name);
      out[table] = { columns, indexes };
    } else {
      const where = 'WHERE table_schema = DATABASE() AND table_name = ?';
      out[table] = {
        table: await db.query(`SELECT engine, table_collation FROM information_schema.tables ${where}`, [table]),
        columns: await db.query(
          `SELECT column_name, column_type, is_nullable, column_default, extra, collation_name FROM information_schema.columns ${where} ORDER BY ordinal_position`,
          [table],
        ),
        indexes: await db.query(
          `SELECT index_name, non_unique, GROUP_CONCAT(column_name ORDER BY seq_in_index) AS columns FROM information_schema.statistics ${where} GROUP BY index_name, non_unique ORDER BY index_name`,
          [table],
        ),
      };
    }
  }
  return out;
}

async function rowsOf(db: Db, tables: string[]): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const table of tables) out[table] = await db.query(`SELECT * FROM ${db.quote(table)} ORDER BY 1`);
  return out;
}

async function journal(db: Db): Promise<Array<{ id: number; name: string }>> {
  const rows = await db.query<{ id: number; name: string }>('SELECT id, name FROM webjobs_migrations ORDER BY id');
  return rows.map((r) => ({ id: Number(r.id), name: r.name }));
}

const everyStep = MIGRATIONS.map((m) => ({ id: m.id, name: m.name }));

function racer(url: string, mode: 'real' | 'slow', go: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/db/migrate-racer.ts'), url, mode], {
    cwd: ROOT,
    env: { ...process.env, RACER_GO: go },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { ready: () => stdout.includes('ready\n'), done };
}

/** Two processes that start migrating the same database at the same moment. */
async function race(url: string, mode: 'real' | 'slow') {
  const dir = tempDir();
  try {
    const go = path.join(dir, 'go');
    const racers = [racer(url, mode, go), racer(url, mode, go)];
    const deadline = Date.now() + 30_000;
    while (!racers.every((r) => r.ready()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    fs.writeFileSync(go, '');
    return await Promise.all(racers.map((r) => r.done));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe.each(ENGINES)("webjobs' own tables on $engine", ({ engine, create }) => {
  const opened: TestDatabase[] = [];
  let t: TestDatabase;
  const fresh = async () => {
    const d = await create();
    opened.push(d);
    return d;
  };
  beforeEach(async () => {
    t = await fresh();
  });
  afterEach(async () => {
    for (const d of opened.splice(0)) await d.cleanup();
  });
  afterAll(async () => {
    for (const d of opened.splice(0)) await d.cleanup();
  });

  it('creates every table on a database that has none, and records each step once', async () => {
    expect(await ownTables(t.db)).toEqual([]);
    await migrate(t.db);
    expect(await ownTables(t.db)).toEqual(OWN_TABLES);
    expect(await journal(t.db)).toEqual(everyStep);
    const appliedAt = await t.db.query<{ applied_at: string }>('SELECT applied_at FROM webjobs_migrations');
    for (const { applied_at } of appliedAt) expect(Date.now() - Date.parse(`${applied_at}Z`)).toBeLessThan(60_000);
  });

  it('is a no-op the second time, also from another connection', async () => {
    await migrate(t.db);
    const before = await rowsOf(t.db, ['webjobs_migrations']);
    const other = await openDatabase(t.url);
    try {
      expect(await applyMigrations(other, MIGRATIONS)).toEqual([]);
      await migrate(other);
    } finally {
      await other.close();
    }
    expect(await rowsOf(t.db, ['webjobs_migrations'])).toEqual(before);
  });

  it('checks a connection once: a connection already migrated is not checked again', async () => {
    await migrate(t.db);
    await t.db.execute('DROP TABLE webjobs_migrations');
    await migrate(t.db);
    expect(await t.db.tableExists('webjobs_migrations')).toBe(false);
    const other = await openDatabase(t.url);
    try {
      await migrate(other);
    } finally {
      await other.close();
    }
    expect(await journal(t.db)).toEqual(everyStep);
  });

  it("upgrades in place a database made by e89b08c: rows kept, every step recorded, tables as a fresh migrate's", async () => {
    await loadE89b08c(t.db);
    const old = await ownTables(t.db);
    expect(old).toEqual(OWN_TABLES.filter((n) => n !== 'webjobs_migrations'));
    const rows = await rowsOf(t.db, old);
    expect(rows.webjobs_runs).toHaveLength(2);
    expect(rows.webjobs_locks).toHaveLength(1);
    expect(rows.webjobs_circuits).toHaveLength(2);
    expect(rows.webjobs_state).toHaveLength(1);

    await migrate(t.db);
    expect(await rowsOf(t.db, old)).toEqual(rows);
    expect(await journal(t.db)).toEqual(everyStep);
    const other = await fresh();
    await migrate(other.db);
    expect(await schemaOf(t.db)).toEqual(await schemaOf(other.db));
    // And the tables still take new rows the way the runner writes them.
    await t.db.execute(
      "INSERT INTO webjobs_runs (run_id, job, status, started_at, started_ms, host, pid) VALUES ('new', 'demo', 'running', '2026-12-04 10:00:00', 1, 'h', 1)",
    );
    expect(await t.db.query('SELECT run_id FROM webjobs_runs WHERE id > 2')).toEqual([{ run_id: 'new' }]);
  });

  it('adds the (job, started_ms) index to an install older than it', async () => {
    await loadE89b08c(t.db);
    await t.db.execute(
      t.db.dialect === 'sqlite'
        ? 'DROP INDEX idx_webjobs_runs_job_ms'
        : 'ALTER TABLE webjobs_runs DROP INDEX idx_webjobs_runs_job_ms',
    );
    await migrate(t.db);
    expect(JSON.stringify(await schemaOf(t.db))).toContain('idx_webjobs_runs_job_ms');
    const other = await fresh();
    await migrate(other.db);
    expect(await schemaOf(t.db)).toEqual(await schemaOf(other.db));
  });

  it(
    engine === 'sqlite'
      ? 'applies each step in a transaction: a step that fails leaves nothing, the steps before it stay recorded'
      : 'records each step as soon as it is applied: a step that failed is run again whole, the steps before it are not',
    async () => {
      const one: Migration = {
        id: 1,
        name: 'one',
        async up(db) {
          await db.execute('CREATE TABLE IF NOT EXISTS step_one (x INT)');
        },
      };
      const broken: Migration = {
        id: 2,
        name: 'two',
        async up(db) {
          await db.execute('CREATE TABLE IF NOT EXISTS step_two (x INT)');
          throw new Error('step two broke');
        },
      };
      await expect(applyMigrations(t.db, [one, broken])).rejects.toThrow('step two broke');
      expect(await journal(t.db)).toEqual([{ id: 1, name: 'one' }]);
      // MariaDB commits DDL as it goes: what the step did stays, so steps must be idempotent.
      expect(await t.db.tableExists('step_two')).toBe(engine !== 'sqlite');
      const fixed: Migration = {
        ...broken,
        async up(db) {
          await db.execute('CREATE TABLE IF NOT EXISTS step_two (x INT)');
        },
      };
      expect(await applyMigrations(t.db, [one, fixed])).toEqual([fixed]);
      expect(await journal(t.db)).toEqual([
        { id: 1, name: 'one' },
        { id: 2, name: 'two' },
      ]);
    },
  );

  it('two processes migrating a fresh database at once both succeed; each step runs and is recorded once', async () => {
    const results = await race(t.url, 'slow');
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const ran = results.flatMap((r) => r.stdout.split('\n').filter((l) => l.startsWith('ran ')));
    expect(ran.sort()).toEqual(['ran 1', 'ran 2', 'ran 3']);
    expect((await journal(t.db)).map((j) => j.id)).toEqual([1, 2, 3]);
  });

  it("two processes running webjobs' migrate on a fresh database at once both succeed", async () => {
    const results = await race(t.url, 'real');
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    expect(await journal(t.db)).toEqual(everyStep);
    expect(await ownTables(t.db)).toEqual(OWN_TABLES);
  });

  if (engine === 'sqlite')
    it('leaves a read-only connection alone', async () => {
      const file = (t.db as SqliteDb).file;
      const readonly = SqliteDb.open(file, { readonly: true });
      try {
        await migrate(readonly);
      } finally {
        await readonly.close();
      }
      expect(await ownTables(t.db)).toEqual([]);
    });
});
