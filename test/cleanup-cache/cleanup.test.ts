import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  cleanupCacheJob,
  type CleanupCacheOptions,
  type CleanupCacheResult,
} from '../../src/jobs/cleanup-cache/index.js';
import { createReferenceSchema } from '../../src/db/schema.js';
import { insertRows } from '../../src/demo/insert.js';
import { runJob } from '../../src/runner/runner.js';
import { ManualClock } from '../../src/util/clock.js';
import { runCli } from '../support/cli.js';
import { ENGINES, tempDir, type TestDatabase } from '../support/databases.js';
import { testEnvironment } from '../support/environment.js';

const NOW = '2026-11-25T03:00:00Z';
const NOW_LOCAL = '2026-11-25 03:00:00';
const WRITER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'writer.mjs');

/** Keys spread so expired and live rows interleave in key order; the highest key of all is expired. */
async function fillCache(db: TestDatabase['db'], expired: number, live: number): Promise<void> {
  await insertRows(
    db,
    'cache',
    ['key', 'value', 'expires_at'],
    (function* () {
      for (let i = 0; i < expired; i++)
        yield [
          `k:${String((i * 7919) % 1_000_003).padStart(7, '0')}:e`,
          `expired ${i}`,
          i === 0 ? '2026-11-25 02:59:59' : `2026-11-${String(1 + (i % 24)).padStart(2, '0')} 12:00:00`,
        ];
      for (let i = 0; i < live; i++)
        yield [
          `live:${String(i).padStart(6, '0')}`,
          `live ${i}`,
          i % 10 === 0 ? null : i === 1 ? NOW_LOCAL : '2026-12-01 00:00:00',
        ];
      yield ['zzz:last', 'highest key, expired', '2026-01-01 00:00:00'];
    })(),
  );
}

describe.each(ENGINES)('cleanup-cache on $engine', ({ create }) => {
  let t: TestDatabase;
  const q = (sql: string) => (t.db.dialect === 'mysql' ? sql.replace(/"/g, '`') : sql);
  const count = async (where = '1 = 1', params: unknown[] = []) =>
    Number((await t.db.queryOne<{ n: number }>(`SELECT COUNT(*) AS n FROM cache WHERE ${where}`, params))?.n);
  const run = async (
    options: CleanupCacheOptions,
    extra: { dryRun?: boolean; config?: Record<string, unknown> } = {},
  ) => {
    const env = testEnvironment({ db: t.db, clock: new ManualClock(NOW), config: extra.config });
    const summary = await runJob(cleanupCacheJob, options, env, { dryRun: Boolean(extra.dryRun), args: {} });
    return { summary, result: summary.result as CleanupCacheResult, logs: env.logs() };
  };

  beforeAll(async () => {
    t = await create();
    await createReferenceSchema(t.db);
  });
  afterAll(async () => t?.cleanup());
  beforeEach(async () => {
    await t.db.execute('DELETE FROM cache');
    await t.db.execute(q(`UPDATE settings SET value = '1' WHERE "key" = 'cache-cleanup-enabled'`));
  });

  it('deletes exactly the expired rows (the highest key too), in chunks, and reports the longest statement', async () => {
    await fillCache(t.db, 2000, 600);
    const { summary, result } = await run({ chunk: 150 });
    expect(summary.status).toBe('succeeded');
    expect(result.rowsDeleted).toBe(2001);
    expect(result.chunks).toBe(Math.ceil(2001 / 150));
    expect(result.longestStatementMs).toBeGreaterThanOrEqual(0);
    expect(result.optimized).toBe(t.db.dialect === 'sqlite' ? 'PRAGMA optimize' : 'ANALYZE TABLE');
    expect(await count('expires_at < ?', [NOW_LOCAL])).toBe(0);
    expect(await count(q('"key" = ?'), ['zzz:last'])).toBe(0);
    expect(await count()).toBe(600); // live rows, a NULL expiry and one expiring exactly now stay
    expect(await count('expires_at IS NULL')).toBe(60);
    if (result.sizeBeforeBytes !== null && result.sizeAfterBytes !== null)
      expect(result.spaceReclaimedBytes).toBe(Math.max(0, result.sizeBeforeBytes - result.sizeAfterBytes));
  });

  it('the app keeps working: a concurrent writer process sees no error during the cleanup', async () => {
    await fillCache(t.db, 30_000, 500);
    const child = spawn(process.execPath, [WRITER, t.engine, t.engine === 'sqlite' ? t.location : t.url], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const lines = readline.createInterface({ input: child.stdout });
    const next = () =>
      new Promise<string>((resolve, reject) => {
        lines.once('line', resolve);
        child.once('exit', () => reject(new Error(`writer exited: ${stderr}`)));
      });
    expect(await next()).toBe('ready');
    const ask = async () => {
      const reply = next();
      child.stdin.write('count\n');
      const [, ops, errs] = (await reply).split(' ');
      return { ops: Number(ops), errors: Number(errs) };
    };
    await new Promise((r) => setTimeout(r, 200));
    const before = await ask();
    const { summary, result } = await run({ chunk: 500 });
    const after = await ask();
    const finalLine = next();
    child.stdin.write('stop\n');
    const report = JSON.parse(await finalLine) as {
      ops: number;
      errors: string[];
      maxLatencyMs: number;
      inserted: number;
    };

    expect(summary.status).toBe('succeeded');
    expect(result.rowsDeleted).toBe(30_001);
    expect(result.chunks).toBeGreaterThanOrEqual(60);
    expect(report.errors).toEqual([]);
    expect(after.ops - before.ops, 'the writer made progress while the cleanup ran').toBeGreaterThan(0);
    // Nothing the writer wrote was deleted; every live row is still there.
    expect(await count(q('"key" LIKE ?'), ['writer:%'])).toBe(report.ops);
    expect(await count(q('"key" LIKE ?'), ['live:%'])).toBe(500);
  });

  it('disabled by the setting: skipped (exit 0), nothing deleted; --force runs it; a malformed setting is exit 2', async () => {
    await fillCache(t.db, 50, 10);
    await t.db.execute(q(`UPDATE settings SET value = '0' WHERE "key" = 'cache-cleanup-enabled'`));
    const skipped = await run({});
    expect(skipped.summary.status).toBe('skipped');
    expect(skipped.summary.exitCode).toBe(0);
    expect(skipped.summary.reason).toMatch(/cache-cleanup-enabled = 0/);
    expect(await count()).toBe(61);
    const forced = await run({ force: true });
    expect(forced.summary.status).toBe('succeeded');
    expect(forced.result.rowsDeleted).toBe(51);

    await t.db.execute(q(`UPDATE settings SET value = 'maybe' WHERE "key" = 'cache-cleanup-enabled'`));
    const bad = await run({});
    expect(bad.summary.exitCode).toBe(2);
    expect(bad.summary.error).toMatch(/cache-cleanup-enabled must be 0 or 1, got "maybe"/);
  });

  it('--dry-run counts what it would delete and changes nothing', async () => {
    await fillCache(t.db, 300, 40);
    const before = await snapshot(t);
    const { summary, result, logs } = await run({}, { dryRun: true });
    expect(summary.status).toBe('dry-run');
    expect(result.rowsDeleted).toBe(301);
    expect(logs).toMatch(/would delete 301 expired rows of cache \(expires_at before 2026-11-25 03:00:00\)/);
    expect(await snapshot(t)).toEqual(before);
  });

  it("Laravel's layout through config: an expiration column in unix seconds, any table name", async () => {
    await t.db.execute(
      t.db.dialect === 'sqlite'
        ? 'CREATE TABLE IF NOT EXISTS app_cache (key TEXT PRIMARY KEY, value TEXT NOT NULL, expiration INTEGER NOT NULL)'
        : 'CREATE TABLE IF NOT EXISTS app_cache (`key` VARCHAR(191) PRIMARY KEY, value MEDIUMTEXT NOT NULL, expiration INT NOT NULL) ENGINE=InnoDB',
    );
    const now = Date.parse(NOW) / 1000;
    await insertRows(
      t.db,
      'app_cache',
      ['key', 'value', 'expiration'],
      [
        ['a', 'x', now - 100],
        ['b', 'x', now],
        ['c', 'x', now + 1],
        ['d', 'x', now + 3600],
        ['e', 'x', 1],
      ],
    );
    const { summary, result } = await run(
      { chunk: 2 },
      { config: { cleanupCache: { layout: 'laravel' }, tables: { cache: { name: 'app_cache' } } } },
    );
    expect(summary.status).toBe('succeeded');
    expect(result).toMatchObject({
      table: 'app_cache',
      expiryColumn: 'expiration',
      expiry: 'unix-seconds',
      expiredBefore: now,
      rowsDeleted: 3,
    });
    const left = await t.db.query<{ k: string }>(q('SELECT "key" AS k FROM app_cache ORDER BY "key"'));
    expect(left.map((r) => r.k)).toEqual(['c', 'd']);
    const wrong = await run({}, { config: { tables: { cache: { name: 'app_cache' } } } });
    expect(wrong.summary.exitCode).toBe(2);
    expect(wrong.summary.error).toMatch(/table app_cache has no column expires_at/);
  });

  it('from the command line: JSON summary, exit codes, --vacuum, bad options are exit 2', async () => {
    await fillCache(t.db, 120, 5);
    const work = tempDir();
    try {
      const env = { DATABASE_URL: t.url, TZ: 'UTC' };
      const missingConfig = await runCli(['cleanup-cache', '--config', path.join(work, 'none.json')], {
        cwd: work,
        env,
      });
      expect(missingConfig.code).toBe(2);
      expect(await count()).toBe(126);
      const r = await runCli(['cleanup-cache', '--json', '--chunk', '50', '--vacuum'], { cwd: work, env });
      expect(r.code, r.stderr).toBe(0);
      const s = JSON.parse(r.stdout);
      expect(s).toMatchObject({ job: 'cleanup-cache', status: 'succeeded', dryRun: false });
      // Everything that expired before the real now: the fixture's expired rows (all in 2026-11 or earlier).
      expect(s.result.rowsDeleted).toBeGreaterThanOrEqual(121);
      expect(s.result.optimized).toBe(t.db.dialect === 'sqlite' ? 'VACUUM' : 'OPTIMIZE TABLE');
      expect(r.stderr).toMatch(/deleted \d+ expired rows in \d+ chunk\(s\)/);
      const bad = await runCli(['cleanup-cache', '--chunk', '0'], { cwd: work, env });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/--chunk must be between 1 and 1000000/);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});

async function snapshot(t: TestDatabase): Promise<unknown> {
  if (t.engine === 'sqlite') {
    await t.db.execute('PRAGMA wal_checkpoint(TRUNCATE)');
    const wal = `${t.location}-wal`;
    return {
      main: fs.readFileSync(t.location).toString('base64'),
      wal: fs.existsSync(wal) ? fs.readFileSync(wal).toString('base64') : null,
    };
  }
  const tables = await t.db.listTables();
  return t.db.query(`CHECKSUM TABLE ${tables.map((x) => t.db.quote(x)).join(', ')} EXTENDED`);
}
