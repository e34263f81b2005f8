import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReferenceSchema } from '../../src/db/schema.js';
import { SqliteDb } from '../../src/db/sqlite.js';
import { buildFixture, buildTempFiles, NOW, POLICY_RULES, snapshotFiles } from './fixture.js';
import { runCli } from '../support/cli.js';
import { ENGINES, tempDir, type TestDatabase } from '../support/databases.js';

/** The CLI runs on the real clock: rows are placed relative to the current time. */
const ago = (ms: number) => new Date(Date.now() - ms).toISOString().slice(0, 19).replace('T', ' ');
const DAY = 86_400_000;

describe.each(ENGINES)('webjobs cleanup-tokens from the command line on $engine', ({ create }) => {
  let t: TestDatabase;
  let work: string;
  beforeAll(async () => {
    t = await create();
    work = tempDir('webjobs-cleanup-cli-');
    await createReferenceSchema(t.db);
    await t.db.execute(
      "INSERT INTO api_keys (id, website_id, status, expires_at, created_at) VALUES (1, 1, 'active', ?, ?), (2, 1, 'active', NULL, ?)",
      [ago(DAY), ago(10 * DAY), ago(200 * DAY)],
    );
    await t.db.execute(
      "INSERT INTO api_keys (id, website_id, status, last_used_at, created_at) VALUES (3, 1, 'active', ?, ?)",
      [ago(DAY), ago(300 * DAY)],
    );
  });
  afterAll(async () => {
    await t?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });
  const cli = (args: string[]) => runCli(args, { cwd: work, env: { DATABASE_URL: t.url, TZ: 'UTC' } });

  it('--dry-run --json: one JSON object with every step count and sample ids, nothing changed, no history row', async () => {
    const r = await cli(['cleanup-tokens', '--dry-run', '--json']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ job: 'cleanup-tokens', status: 'dry-run', dryRun: true });
    expect(s.result.breakdown).toMatchObject({
      expired_api_keys: 1,
      inactive_api_keys: 1,
      expired_website_tokens: 0,
      old_statistics: 0,
      temp_files: 0,
      session_tokens: 0,
    });
    expect(s.result.steps.find((x: { step: string }) => x.step === 'inactive_api_keys').sampleIds).toEqual([2]);
    expect(r.stderr).toMatch(/INFO {2}inactive_api_keys: 1 would be marked inactive \(e\.g\. 2\)/);
    expect(r.stderr).toMatch(/storage\/app\/temp does not exist, skipped/);
    const keys = await t.db.query<{ status: string }>('SELECT status FROM api_keys ORDER BY id');
    expect(keys.map((k) => k.status)).toEqual(['active', 'active', 'active']);
    expect(await t.db.tableExists('webjobs_runs')).toBe(false);
  });

  it('runs, logs one line per step, records the run; --inactive-days overrides the config', async () => {
    fs.writeFileSync(path.join(work, 'cfg.json'), JSON.stringify({ cleanup: { inactiveDays: 500 } }));
    const r = await cli([
      'cleanup-tokens',
      '--json',
      '--config',
      path.join(work, 'cfg.json'),
      '--inactive-days',
      '100',
    ]);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.status).toBe('succeeded');
    expect(s.result.thresholds.inactiveDays).toBe(100);
    expect(s.result.breakdown).toMatchObject({ expired_api_keys: 1, inactive_api_keys: 1 });
    for (const step of [
      'expired_api_keys',
      'inactive_api_keys',
      'expired_website_tokens',
      'old_statistics',
      'temp_files',
      'session_tokens',
    ]) {
      expect(r.stderr.split('\n').filter((l) => l.includes(` ${step}: `))).toHaveLength(1);
    }
    const keys = await t.db.query<{ status: string; deactivated_reason: string | null }>(
      'SELECT status, deactivated_reason FROM api_keys ORDER BY id',
    );
    expect(keys).toEqual([
      { status: 'expired', deactivated_reason: 'Automatic cleanup - expired' },
      { status: 'inactive', deactivated_reason: 'Automatic cleanup - 100 days inactive' },
      { status: 'active', deactivated_reason: null },
    ]);
    const runs = await t.db.query<{ status: string }>("SELECT status FROM webjobs_runs WHERE job = 'cleanup-tokens'");
    expect(runs.map((x) => x.status)).toEqual(['succeeded']);
  });
});

describe('cleanup-tokens: bad thresholds and bad retention rules exit 2 with one line, before anything runs', () => {
  const work = tempDir('webjobs-cleanup-usage-');
  const dbFile = path.join(work, 'never.sqlite');
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
  const rule = { table: 'jobs', column: 'completed_at', days: 30 };
  const cases: [string, string[], unknown, RegExp][] = [
    ['a negative --inactive-days', ['--inactive-days', '-5'], null, /--inactive-days must be between 1 and 36500/],
    ['a non-numeric --temp-hours', ['--temp-hours', 'soon'], null, /--temp-hours must be a whole number/],
    [
      'a negative config cleanup.inactiveDays',
      [],
      { cleanup: { inactiveDays: -1 } },
      /config cleanup.inactiveDays must be at least 1/,
    ],
    [
      'a non-numeric config cleanup.statisticsRetentionDays',
      [],
      { cleanup: { statisticsRetentionDays: 'a year' } },
      /config cleanup.statisticsRetentionDays must be a number/,
    ],
    [
      'a negative config cleanup.sessionIdleDays',
      [],
      { cleanup: { sessionIdleDays: -30 } },
      /config cleanup.sessionIdleDays must be at least 1/,
    ],
    [
      'cleanup.tempDirs not a list',
      [],
      { cleanup: { tempDirs: 'storage/app/temp' } },
      /config cleanup.tempDirs must be a list of strings/,
    ],
    [
      'the filesystem root as a temp folder',
      [],
      { cleanup: { tempDirs: ['storage/app/temp', '/'] } },
      /cleanup.tempDirs must not name the filesystem root/,
    ],
    [
      'a JSON path with SQL in it',
      [],
      { cleanup: { statisticsJsonPaths: { total_users: "$.x') OR 1=1 --" } } },
      /cleanup.statisticsJsonPaths.total_users must be a JSON path/,
    ],
    ['rules not a list', [], { retention: { rules: { table: 'jobs' } } }, /config retention.rules must be a list/],
    [
      'a hostile table name',
      [],
      { retention: { rules: [{ ...rule, table: 'jobs; DROP TABLE users' }] } },
      /retention.rules\[0\].table .* is not a valid name/,
    ],
    [
      'a hostile column in a condition',
      [],
      { retention: { rules: [{ ...rule, where: { column: 'status`=1 OR 1=1 --', op: '=', value: 'x' } }] } },
      /where\[0\].column .* is not a valid name/,
    ],
    [
      'an operator outside the list',
      [],
      { retention: { rules: [{ ...rule, where: { column: 'status', op: 'LIKE', value: '%' } }] } },
      /where\[0\].op "LIKE" is not allowed/,
    ],
    [
      'an injected operator',
      [],
      { retention: { rules: [{ ...rule, where: { column: 'status', op: '= 1 OR 1 =', value: 1 } }] } },
      /is not allowed/,
    ],
    [
      'negative days',
      [],
      { retention: { rules: [{ ...rule, days: -3 }] } },
      /retention.rules\[0\].days must be a whole number of days from 0 to 36500/,
    ],
    [
      'an unknown action',
      [],
      { retention: { rules: [{ ...rule, action: 'truncate' }] } },
      /action must be "delete" or "set"/,
    ],
    [
      'a set action without columns',
      [],
      { retention: { rules: [{ ...rule, action: 'set' }] } },
      /set must name at least one column/,
    ],
    ['a misspelled rule key', [], { retention: { rules: [{ ...rule, condtion: {} }] } }, /unknown key "condtion"/],
    [
      '"in" without a list',
      [],
      { retention: { rules: [{ ...rule, where: { column: 'status', op: 'in', value: 'done' } }] } },
      /"in" needs a non-empty list/,
    ],
  ];
  it.each(cases)('%s', async (_what, args, config, message) => {
    const cfg = path.join(work, 'cfg.json');
    fs.writeFileSync(cfg, JSON.stringify(config ?? {}));
    const r = await runCli(['cleanup-tokens', '--config', cfg, '--db', `sqlite:${dbFile}`, ...args], { cwd: work });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(fs.existsSync(dbFile)).toBe(false);
  });
});

describe('cleanup-tokens from the command line on a SQLite file, clock set by WEBJOBS_NOW', () => {
  const work = tempDir('webjobs-cleanup-cli-file-');
  const file = path.join(work, 'app.sqlite');
  const cfg = path.join(work, 'webjobs.config.json');
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
  const hash = () => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  const cli = (args: string[]) =>
    runCli(['cleanup-tokens', '--db', `sqlite:${file}`, '--config', cfg, '--json', ...args], {
      cwd: work,
      env: { WEBJOBS_NOW: NOW, TZ: 'UTC' },
    });

  beforeAll(async () => {
    const db = SqliteDb.open(file);
    await buildFixture(db);
    await db.close();
    buildTempFiles(work);
    fs.writeFileSync(cfg, JSON.stringify({ timezone: 'UTC', retention: { rules: POLICY_RULES } }));
  });

  it('--dry-run leaves the file byte for byte and every temp file as it was; the real run then does exactly what it predicted', async () => {
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
    const before = hash();
    const filesBefore = snapshotFiles(work);
    delete filesBefore[file];
    const dry = await cli(['--dry-run']);
    expect(dry.code).toBe(0);
    const predicted = JSON.parse(dry.stdout).result.breakdown;
    expect(hash()).toBe(before);
    const filesAfter = snapshotFiles(work);
    delete filesAfter[file];
    expect(filesAfter).toEqual(filesBefore);
    expect(Object.values(predicted).reduce((a: number, b) => a + Number(b), 0)).toBeGreaterThan(150);

    const real = await cli([]);
    expect(real.code).toBe(0);
    expect(JSON.parse(real.stdout).result.breakdown).toEqual(predicted);
    const again = await cli([]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).result.totalCleaned).toBe(0);
  });
});
