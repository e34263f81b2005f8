import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { ENGINES, tempDir, type TestDatabase } from '../support/databases.js';
import { demoDatabase } from '../support/fixtures.js';

const HOSTILE_NAMES = [
  "users'; DROP TABLE users; --",
  'users`',
  'users; DELETE FROM users',
  'users /* x */',
  'users"--',
];

/** Everything a run could have changed: the tables' row counts and the working folder's files. */
async function snapshot(t: TestDatabase, work: string): Promise<string> {
  const counts: string[] = [];
  for (const table of (await t.db.listTables()).sort()) {
    const row = await t.db.queryOne<{ n: number }>(`SELECT COUNT(*) AS n FROM ${t.db.quote(table)}`);
    counts.push(`${table}=${Number(row?.n)}`);
  }
  const files = fs.readdirSync(work, { recursive: true }).map(String).sort();
  return `${counts.join(',')}|${files.join(',')}`;
}

describe.each(ENGINES)('hostile input on $engine: one clear line, exit 2, nothing changed', ({ create }) => {
  let t: TestDatabase;
  let work: string;
  beforeAll(async () => {
    t = await create();
    await demoDatabase(t.db, 1000);
    work = tempDir();
  });
  afterAll(async () => {
    await t?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  async function expectRefused(args: string[], config: unknown, message: RegExp) {
    const configFile = path.join(work, 'hostile.json');
    fs.writeFileSync(configFile, JSON.stringify(config ?? {}));
    const before = await snapshot(t, work);
    const r = await runCli([...args, '--config', configFile], { cwd: work, env: { DATABASE_URL: t.url } });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    // One line says what is wrong; anything else on stderr is plain information (e.g. that no mail is configured).
    expect(
      r.stderr
        .trim()
        .split('\n')
        .filter((l) => !/^\S+ \S+ INFO /.test(l)),
    ).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(await snapshot(t, work)).toBe(before);
  }

  it.each(HOSTILE_NAMES)('backup-db with config backup.critical naming %j', async (name) => {
    await expectRefused(['backup-db'], { backup: { critical: ['users', name] } }, /not a valid name/);
  });

  it.each(['a\nb', 'x\ty', 'back\rups'])('backup-db --out %j (a control character)', async (dir) => {
    await expectRefused(['backup-db', '--out', path.join(work, dir)], {}, /control character/);
  });

  it('backup-db with config backup.dir holding a newline', async () => {
    await expectRefused(['backup-db'], { backup: { dir: 'var/back\nups' } }, /control character/);
  });

  it.each([
    ['--type bogus', ['backup-db', '--type', 'bogus'], /--type must be one of/],
    ['--level 0', ['backup-db', '--level', '0'], /--level must be between 1 and 9/],
    ['--level 9x', ['backup-db', '--level', '9x'], /--level must be a whole number/],
  ])('backup-db %s', async (_what, args, message) => {
    await expectRefused(args as string[], {}, message as RegExp);
  });

  it.each([
    ['cleanup-cache', ['cleanup-cache'], { tables: { cache: { name: 'cache; DROP TABLE users' } } }],
    [
      'aggregate-stats',
      ['aggregate-stats'],
      { tables: { api_requests: { columns: { created_at: 'created_at` --' } } } },
    ],
    [
      'warm-cache',
      ['warm-cache', '--force'],
      { tables: { api_requests: { name: "api_requests' OR 1=1" } }, warm: { urlTemplate: 'http://127.0.0.1:9/{id}' } },
    ],
    ['export-report', ['export-report', '--no-email'], { tables: { users: { name: 'users /* x */' } } }],
    ['cleanup-tokens', ['cleanup-tokens'], { tables: { api_keys: { name: 'api_keys"; DELETE FROM api_keys; --' } } }],
  ])('%s with a hostile table or column name in config', async (_job, args, config) => {
    await expectRefused(args as string[], config, /not a valid name/);
  });

  it.each([
    ['cleanup-cache', ['cleanup-cache'], 'cache-cleanup-enabled', 'banana'],
    ['aggregate-stats', ['aggregate-stats'], 'cache-statistics-retention-days', '-4'],
    ['warm-cache', ['warm-cache', '--force'], 'cache-warming-widget-count', '10; DROP TABLE users'],
    ['warm-cache', ['warm-cache', '--force'], 'circuit-breaker-failure-threshold', ''],
  ])('%s with a garbage value in the settings table (%s = %j)', async (_job, args, key, value) => {
    const keyCol = t.db.quote('key');
    const old = await t.db.queryOne<{ value: string }>(`SELECT value FROM settings WHERE ${keyCol} = ?`, [key]);
    await t.db.execute(`DELETE FROM settings WHERE ${keyCol} = ?`, [key]);
    await t.db.execute(`INSERT INTO settings (${keyCol}, value) VALUES (?, ?)`, [key, value]);
    try {
      await expectRefused(
        args as string[],
        { warm: { urlTemplate: 'http://127.0.0.1:9/{id}' } },
        new RegExp(`setting ${key}`),
      );
    } finally {
      await t.db.execute(`DELETE FROM settings WHERE ${keyCol} = ?`, [key]);
      if (old) await t.db.execute(`INSERT INTO settings (${keyCol}, value) VALUES (?, ?)`, [key, old.value]);
    }
  });

  it.each([
    ['aggregate-stats --date 2026-02-30', ['aggregate-stats', '--date', '2026-02-30'], /2026-02-30/],
    ['aggregate-stats --date 26-11-01', ['aggregate-stats', '--date', '26-11-01'], /YYYY-MM-DD/],
    ['aggregate-stats --from after --to', ['aggregate-stats', '--from', '2026-11-10', '--to', '2026-11-01'], /--from/],
    ['export-report --end 2026-13-01', ['export-report', '--end', '2026-13-01', '--no-email'], /2026-13-01/],
    ['export-report --period yearly', ['export-report', '--period', 'yearly'], /--period/],
    ['cleanup-tokens --inactive-days -1', ['cleanup-tokens', '--inactive-days', '-1'], /--inactive-days/],
    ['cleanup-cache --chunk 0', ['cleanup-cache', '--chunk', '0'], /--chunk/],
    ['warm-cache --concurrency many', ['warm-cache', '--concurrency', 'many'], /--concurrency/],
  ])('%s (a date or number out of range)', async (_what, args, message) => {
    await expectRefused(args as string[], {}, message as RegExp);
  });

  it.each(['file:///etc/passwd?{id}', 'ftp://127.0.0.1/{id}', 'javascript:alert({id})', 'gopher://127.0.0.1:70/{id}'])(
    'warm-cache with warm.urlTemplate %j (not http)',
    async (template) => {
      await expectRefused(['warm-cache', '--force'], { warm: { urlTemplate: template } }, /warm.urlTemplate/);
    },
  );

  it.each([
    ['61 * * * *', /61/],
    ['* * 32 * *', /32/],
    ['0 3 * * 8', /8/],
    ['@every 5m', /@every/],
    ['0 3 * *', /field|expression/],
  ])('cron print with a schedule expression out of range (%j)', async (expression, message) => {
    await expectRefused(
      ['cron', 'print'],
      { schedule: { jobs: { 'backup-db': expression } } },
      new RegExp(`backup-db.*${(message as RegExp).source}|${(message as RegExp).source}.*backup-db`),
    );
  });

  describe('restore-db refuses a file it did not write, before touching the target', () => {
    const target = () => path.join(work, 'restored.sqlite');
    async function expectRestoreRefused(file: string, message: RegExp) {
      const r = await runCli(['restore-db', file, '--db', `sqlite:${target()}`], { cwd: work });
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      expect(fs.existsSync(target())).toBe(false);
    }
    it('a truncated backup', async () => {
      const out = path.join(work, 'good');
      const ok = await runCli(['backup-db', '--out', out, '--json'], { cwd: work, env: { DATABASE_URL: t.url } });
      expect(ok.code).toBe(0);
      const file = JSON.parse(ok.stdout).result.file as string;
      const bytes = fs.readFileSync(file);
      const cut = path.join(work, 'truncated.sql.gz');
      fs.writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
      await expectRestoreRefused(cut, /damaged|truncated|incomplete/);
      // A file cut at a gzip member boundary is valid gzip but lacks the footer: refused as incomplete.
      const noFooter = path.join(work, 'no-footer.sql.gz');
      const text = zlib.gunzipSync(bytes).toString('utf8');
      fs.writeFileSync(noFooter, zlib.gzipSync(text.slice(0, text.lastIndexOf('\n', text.length - 2))));
      await expectRestoreRefused(noFooter, /incomplete|footer|truncated/);
      fs.rmSync(out, { recursive: true, force: true });
      fs.rmSync(cut);
      fs.rmSync(noFooter);
    });
    it('a file that is not gzip', async () => {
      const file = path.join(work, 'plain.sql.gz');
      fs.writeFileSync(file, crypto.randomBytes(2000));
      await expectRestoreRefused(file, /not a valid gzip/);
      fs.rmSync(file);
    });
    it("another tool's dump", async () => {
      const file = path.join(work, 'mysqldump.sql.gz');
      fs.writeFileSync(
        file,
        zlib.gzipSync('-- MySQL dump 10.13  Distrib 10.11\nCREATE TABLE t (a int);\nINSERT INTO t VALUES (1);\n'),
      );
      await expectRestoreRefused(file, /not a webjobs backup/);
      fs.rmSync(file);
    });
  });
});
