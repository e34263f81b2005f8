import crypto from 'node:crypto';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SMTPServer } from 'smtp-server';
import type { Db } from '../../src/db/types.js';
import {
  cleanupTokensJob,
  type CleanupTokensOptions,
  type CleanupTokensResult,
} from '../../src/jobs/cleanup-tokens/index.js';
import { createMailer } from '../../src/notify/mailer.js';
import { ManualClock } from '../../src/util/clock.js';
import Database from 'better-sqlite3';
import { SqliteDb } from '../../src/db/sqlite.js';
import { ENGINES, sqliteDatabase, tempDir, type TestDatabase } from '../support/databases.js';
import { testEnvironment } from '../support/environment.js';
import { runTestJob } from '../support/run-job.js';
import { createReferenceSchema } from '../../src/db/schema.js';
import {
  buildFixture,
  buildTempFiles,
  daysAgo,
  insertStatistics,
  NOW,
  POLICY_RULES,
  snapshotFiles,
} from './fixture.js';

const USER_TABLES = [
  'api_keys',
  'websites',
  'website_statistics',
  'website_statistics_monthly',
  'sessions',
  'personal_access_tokens',
  'jobs',
  'notifications',
  'audit_logs',
  'settings',
];

/** Every row of every fixture table, in key order: what "changes nothing" is measured against. */
async function dumpTables(db: Db): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const t of USER_TABLES) {
    const cols = await db.columnsOf(t);
    out[t] = await db.query(`SELECT * FROM ${db.quote(t)} ORDER BY ${cols.map((c) => db.quote(c)).join(', ')}`);
  }
  return out;
}

/** The database's bytes: the SQLite file's hash after a checkpoint; MariaDB's table checksums. */
async function databaseFingerprint(t: TestDatabase): Promise<string> {
  if (t.engine === 'sqlite') {
    await t.db.query('PRAGMA wal_checkpoint(TRUNCATE)');
    const wal = `${t.location}-wal`;
    const walSize = fs.existsSync(wal) ? fs.statSync(wal).size : -1;
    return `${crypto.createHash('sha256').update(fs.readFileSync(t.location)).digest('hex')} wal=${walSize}`;
  }
  const tables = (await t.db.listTables()).sort();
  const sums = await t.db.query<{ Table: string; Checksum: number }>(
    `CHECKSUM TABLE ${tables.map((x) => t.db.quote(x)).join(', ')}`,
  );
  return JSON.stringify({ tables, sums });
}

/** Plain SQL over the fixture, written independently of the job: the summaries it must produce. */
async function expectedSummaries(db: Db, before: string): Promise<Map<string, Record<string, number | null>>> {
  const sql =
    db.dialect === 'sqlite'
      ? `SELECT website_id AS w, CAST(substr(created_at, 1, 4) AS INTEGER) AS y, CAST(substr(created_at, 6, 2) AS INTEGER) AS m, COUNT(*) AS record_count,
           AVG(CASE WHEN json_valid(statistics_data) THEN json_extract(statistics_data, '$.api_calls_today') END) AS avg_api_calls,
           AVG(CASE WHEN json_valid(statistics_data) THEN json_extract(statistics_data, '$.average_response_time') END) AS avg_response_time,
           SUM(CASE WHEN json_valid(statistics_data) THEN json_extract(statistics_data, '$.page_views_today') END) AS total_page_views,
           MAX(CASE WHEN json_valid(statistics_data) THEN CAST(json_extract(statistics_data, '$.total_users') AS INTEGER) END) AS max_total_users
         FROM website_statistics WHERE created_at < ? GROUP BY 1, 2, 3`
      : `SELECT website_id AS w, YEAR(created_at) AS y, MONTH(created_at) AS m, COUNT(*) AS record_count,
           AVG(JSON_VALUE(statistics_data, '$.api_calls_today')) AS avg_api_calls,
           AVG(JSON_VALUE(statistics_data, '$.average_response_time')) AS avg_response_time,
           SUM(JSON_VALUE(statistics_data, '$.page_views_today')) AS total_page_views,
           MAX(CAST(JSON_VALUE(statistics_data, '$.total_users') AS SIGNED)) AS max_total_users
         FROM website_statistics WHERE created_at < ? GROUP BY 1, 2, 3`;
  const rows = await db.query<Record<string, unknown>>(sql, [before]);
  const out = new Map<string, Record<string, number | null>>();
  for (const r of rows) {
    const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
    out.set(`${r.w}/${r.y}/${r.m}`, {
      record_count: num(r.record_count),
      avg_api_calls: num(r.avg_api_calls),
      avg_response_time: num(r.avg_response_time),
      total_page_views: num(r.total_page_views),
      max_total_users: num(r.max_total_users),
    });
  }
  return out;
}

const stepOf = (r: CleanupTokensResult, name: string) => {
  const s = r.steps.find((x) => x.step === name);
  if (!s) throw new Error(`no step ${name}`);
  return s;
};

describe.each(ENGINES)('cleanup-tokens on $engine', ({ create }) => {
  let t: TestDatabase;
  let work: string;
  let files: ReturnType<typeof buildTempFiles>;
  const config = () => ({ retention: { rules: POLICY_RULES } });
  const runOnce = async (
    opts: {
      dryRun?: boolean;
      config?: Record<string, unknown>;
      options?: CleanupTokensOptions;
      mailer?: ReturnType<typeof createMailer>;
    } = {},
  ) => {
    const env = testEnvironment({
      db: t.db,
      url: t.url,
      config: opts.config ?? config(),
      clock: new ManualClock(NOW),
      baseDir: work,
      mailer: opts.mailer,
    });
    return runTestJob(cleanupTokensJob, opts.options ?? {}, env, { dryRun: opts.dryRun ?? false });
  };

  beforeAll(async () => {
    t = await create();
    work = tempDir('webjobs-cleanup-');
    await buildFixture(t.db);
    files = buildTempFiles(work);
  });
  afterAll(async () => {
    await t?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  let dry: CleanupTokensResult;
  let before: Record<string, unknown[]>;
  let expected: Map<string, Record<string, number | null>>;

  it('--dry-run reports every count with sample ids and leaves the database bytes and the files unchanged', async () => {
    before = await dumpTables(t.db);
    expected = await expectedSummaries(t.db, '2025-11-01 00:00:00');
    const dbBefore = await databaseFingerprint(t);
    const filesBefore = snapshotFiles(work);
    const { summary, result, logs } = await runOnce({ dryRun: true });
    expect(summary.error).toBeUndefined();
    expect(summary.status).toBe('dry-run');
    dry = result;
    expect(result.breakdown).toEqual({
      expired_api_keys: 2,
      inactive_api_keys: 4,
      expired_website_tokens: 2,
      old_statistics: 73 + 59 + 2 + 2,
      temp_files: 3,
      session_tokens: 3,
      'retention:jobs': 2,
      'retention:read-notifications': 1,
      'retention:audit-logs': 1,
    });
    expect(stepOf(result, 'expired_api_keys').sampleIds.map(Number)).toEqual([1, 3]);
    expect(stepOf(result, 'inactive_api_keys').sampleIds.map(Number)).toEqual([5, 6, 11, 12]);
    expect(logs).toMatch(/expired_api_keys: 2 would be marked expired \(e\.g\. 1, 3\)/);
    expect(logs).toMatch(/temp_files: 3 files would be removed/);
    expect(stepOf(result, 'old_statistics').details?.summariesAdded).toBe(6);
    expect(logs).toMatch(/WARN .*website 3 2025-09 would be kept/);
    expect(await databaseFingerprint(t)).toBe(dbBefore);
    expect(snapshotFiles(work)).toEqual(filesBefore);
    expect(await t.db.tableExists('webjobs_runs')).toBe(false);
  });

  let first: CleanupTokensResult;
  it('a run changes exactly the rows each step should, and reports the seed breakdown', async () => {
    const { summary, result } = await runOnce();
    expect(summary.error).toBeUndefined();
    expect(summary.status).toBe('succeeded');
    first = result;
    expect(result.failedSteps).toEqual([]);
    // The dry run predicted exactly this (the rows no summary covers excluded).
    expect(result.breakdown).toEqual(dry.breakdown);
    expect(result.totalCleaned).toBe(Object.values(result.breakdown).reduce((a, b) => a + b, 0));

    const keys = await t.db.query<{
      id: number;
      status: string;
      deactivated_at: string | null;
      deactivated_reason: string | null;
    }>('SELECT * FROM api_keys ORDER BY id');
    const byId = new Map(keys.map((k) => [Number(k.id), k]));
    const nowLocal = '2026-11-25 03:00:00';
    expect(byId.get(1)).toMatchObject({
      status: 'expired',
      deactivated_at: nowLocal,
      deactivated_reason: 'Automatic cleanup - expired',
    });
    expect(byId.get(3)).toMatchObject({
      status: 'expired',
      deactivated_at: daysAgo(60),
      deactivated_reason: 'compromised',
    });
    for (const id of [5, 6, 11, 12])
      expect(byId.get(id)).toMatchObject({
        status: 'inactive',
        deactivated_at: nowLocal,
        deactivated_reason: 'Automatic cleanup - 90 days inactive',
      });
    // Everything else exactly as it was.
    const beforeKeys = new Map((before.api_keys as { id: number }[]).map((k) => [Number(k.id), k]));
    for (const id of [2, 4, 7, 8, 9, 10]) expect(byId.get(id)).toEqual(beforeKeys.get(id));

    const sites = await t.db.query<{
      id: number;
      status: string;
      verification_token: string | null;
      verification_expires_at: string | null;
    }>('SELECT * FROM websites ORDER BY id');
    const beforeSites = new Map((before.websites as { id: number }[]).map((k) => [Number(k.id), k]));
    for (const s of sites) {
      if ([1, 5].includes(Number(s.id)))
        expect(s).toMatchObject({
          status: 'verification_expired',
          verification_token: null,
          verification_expires_at: null,
        });
      else expect(s).toEqual(beforeSites.get(Number(s.id)));
    }

    const sessions = await t.db.query<{ id: string }>('SELECT id FROM sessions ORDER BY id');
    expect(sessions.map((s) => s.id)).toEqual(['s-new']);
    const tokens = await t.db.query<{ name: string }>('SELECT name FROM personal_access_tokens ORDER BY name');
    expect(tokens.map((x) => x.name)).toEqual(['future', 'never']);

    const jobs = await t.db.query<{ status: string; completed_at: string | null }>(
      'SELECT status, completed_at FROM jobs ORDER BY id',
    );
    expect(jobs).toEqual([
      { status: 'RUNNING', completed_at: daysAgo(40) },
      { status: 'COMPLETED', completed_at: daysAgo(29) },
      { status: 'PENDING', completed_at: null },
    ]);
    const notes = await t.db.query<{ is_read: number; archived: number }>(
      'SELECT is_read, archived FROM notifications ORDER BY id',
    );
    expect(notes.map((n) => [Number(n.is_read), Number(n.archived)])).toEqual([
      [1, 1],
      [0, 0],
      [1, 0],
    ]);
    const audit = await t.db.query<{ severity: string | null; created_at: string }>(
      'SELECT severity, created_at FROM audit_logs ORDER BY id',
    );
    expect(audit).toEqual([
      { severity: 'critical', created_at: daysAgo(400) },
      { severity: null, created_at: daysAgo(400) },
      { severity: 'info', created_at: daysAgo(300) },
    ]);
  });

  it('old statistics: whole months before the cutoff are summarized (equal to plain SQL) and deleted; newer rows, and rows no summary covers, stay', async () => {
    const left = await t.db.query<{ website_id: number; created_at: string }>(
      'SELECT website_id, created_at FROM website_statistics ORDER BY website_id, created_at',
    );
    // Website 1 from Nov 2025 on (its rows older than the retention wait for November to end), website 3 (conflicting summary), website 6 (inside retention).
    expect(left.filter((r) => Number(r.website_id) === 1)).toHaveLength(40);
    expect(left.filter((r) => Number(r.website_id) === 1).every((r) => String(r.created_at) >= '2025-11-01')).toBe(
      true,
    );
    expect(left.filter((r) => Number(r.website_id) === 3)).toHaveLength(5);
    expect(left.filter((r) => Number(r.website_id) === 6).map((r) => String(r.created_at))).toEqual([daysAgo(364)]);
    expect(left.filter((r) => [2, 4, 5].includes(Number(r.website_id)))).toEqual([]);
    const step = stepOf(first, 'old_statistics');
    expect(step.details?.summariesAdded).toBe(6);
    expect(step.details?.waitingForMonthEnd).toBe(24);
    expect(step.notes.join(' ')).toMatch(/24 row\(s\) older than the retention wait until their month \(2025-11\)/);

    const monthly = await t.db.query<{ website_id: number; year: number; month: number; summary_data: string }>(
      'SELECT website_id, year, month, summary_data FROM website_statistics_monthly ORDER BY website_id, year, month',
    );
    expect(monthly.map((m) => `${m.website_id}/${m.year}/${m.month}`)).toEqual([
      '1/2025/8',
      '1/2025/9',
      '1/2025/10',
      '2/2025/9',
      '2/2025/10',
      '3/2025/9',
      '4/2025/10',
      '5/2025/7',
    ]);
    for (const m of monthly) {
      const key = `${m.website_id}/${m.year}/${m.month}`;
      const got = JSON.parse(m.summary_data) as Record<string, number | null>;
      if (Number(m.website_id) === 3 || Number(m.website_id) === 4) continue; // written before the run: untouched
      const want = expected.get(key);
      expect(want, key).toBeDefined();
      expect(got.record_count, key).toBe(want?.record_count);
      expect(got.total_page_views, key).toBe(want?.total_page_views);
      expect(got.max_total_users, key).toBe(want?.max_total_users);
      for (const avg of ['avg_api_calls', 'avg_response_time'] as const) {
        if (want?.[avg] === null) expect(got[avg], `${key} ${avg}`).toBeNull();
        else
          expect(Math.abs((got[avg] as number) - (want?.[avg] as number)), `${key} ${avg}`).toBeLessThanOrEqual(
            0.005 + 1e-9,
          );
      }
    }
    expect(JSON.parse(monthly.find((m) => Number(m.website_id) === 3)?.summary_data ?? '{}')).toEqual({
      record_count: 2,
      avg_api_calls: 1,
    });
    expect(JSON.parse(monthly.find((m) => Number(m.website_id) === 5)?.summary_data ?? '{}')).toMatchObject({
      record_count: 2,
      avg_api_calls: null,
      total_page_views: null,
    });
  });

  it('a second run changes nothing', async () => {
    const snapshot = await dumpTables(t.db);
    const filesBefore = snapshotFiles(work);
    const { summary, result } = await runOnce();
    expect(summary.status).toBe('succeeded');
    expect(result.totalCleaned).toBe(0);
    expect(Object.values(result.breakdown).every((n) => n === 0)).toBe(true);
    expect(await dumpTables(t.db)).toEqual(snapshot);
    expect(snapshotFiles(work)).toEqual(filesBefore);
  });

  it('temp files: old regular files go; fresh files, sub-folders, symlinks and what they point to stay; a missing folder is skipped', () => {
    for (const f of files.expectRemoved) expect(fs.existsSync(f), f).toBe(false);
    for (const f of files.expectKept) expect(fs.lstatSync(f, { throwIfNoEntry: false }), f).toBeDefined();
    expect(fs.readFileSync(files.outside, 'utf8')).toBe('do not delete');
    const step = stepOf(first, 'temp_files');
    expect(step.notes.join(' ')).toMatch(/storage\/logs\/old does not exist, skipped/);
    expect(step.details?.bytes).toBe(300);
  });

  it('a failing step (a wrong column mapping) is named, the other steps still run, and the run exits 1', async () => {
    await t.db.execute(
      'INSERT INTO api_keys (id, website_id, status, expires_at, last_used_at, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      [20, 1, 'active', daysAgo(1), null, daysAgo(10)],
    );
    await t.db.execute('INSERT INTO sessions (id, user_id, payload, last_activity) VALUES (?, ?, ?, ?)', [
      's-late',
      1,
      'x',
      Math.floor(Date.parse(NOW) / 1000) - 40 * 86400,
    ]);
    const { summary, result } = await runOnce({
      config: { ...config(), tables: { api_keys: { columns: { last_used_at: 'last_use_time' } } } },
    });
    expect(summary.status).toBe('failed');
    expect(summary.exitCode).toBe(1);
    expect(summary.error).toMatch(/^1 of 9 cleanup step\(s\) failed: inactive_api_keys \(.*last_use_time/);
    expect(result.failedSteps).toEqual(['inactive_api_keys']);
    expect(result.breakdown.expired_api_keys).toBe(1);
    expect(result.breakdown.session_tokens).toBe(1);
    const key = await t.db.queryOne<{ status: string }>('SELECT status FROM api_keys WHERE id = 20');
    expect(key?.status).toBe('expired');
    expect(await t.db.queryOne('SELECT id FROM sessions WHERE id = ?', ['s-late'])).toBeUndefined();
  });

  it('mails the seed summary to the admins after a run that changed something, and nothing after one that did not', async () => {
    const received: string[] = [];
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onData(stream, _session, cb) {
        let text = '';
        stream.on('data', (d: Buffer) => (text += d.toString()));
        stream.on('end', () => {
          received.push(text);
          cb();
        });
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.server.address() as { port: number }).port;
    const mailer = () =>
      createMailer({ url: `smtp://127.0.0.1:${port}`, admins: ['ops@example.test'], from: 'webjobs@example.test' });
    try {
      await t.db.execute(
        'INSERT INTO websites (id, name, domain, status, verification_token, verification_expires_at) VALUES (?, ?, ?, ?, ?, ?)',
        [30, 'late', 'late.example.test', 'pending', 'tok-30', daysAgo(2)],
      );
      const m1 = mailer();
      const { summary } = await runOnce({ mailer: m1 });
      m1.close();
      expect(summary.status).toBe('succeeded');
      expect(received).toHaveLength(1);
      const mail = received[0]?.replace(/=\r?\n/g, '') ?? '';
      expect(mail).toMatch(/Subject: \[webjobs\] Token Cleanup Summary/);
      expect(mail).toMatch(/Expired Website Tokens: 1/);
      expect(mail).toMatch(/Total Items Cleaned: 1/);
      const m2 = mailer();
      const again = await runOnce({ mailer: m2 });
      m2.close();
      expect(again.result.totalCleaned).toBe(0);
      expect(received).toHaveLength(1);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe.each(ENGINES)('cleanup-tokens retention rules on $engine', ({ create }) => {
  let t: TestDatabase;
  let work: string;
  beforeAll(async () => {
    t = await create();
    work = tempDir('webjobs-cleanup-rules-');
    await buildFixture(t.db);
  });
  afterAll(async () => {
    await t?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('unix-seconds time columns and set-to-null work; a rule on a missing table fails alone, named; a missing sessions table is a note', async () => {
    const rules = [
      {
        name: 'stale-sessions',
        table: 'sessions',
        column: 'last_activity',
        days: 30,
        timeFormat: 'unix',
        action: 'set',
        set: { payload: null },
      },
      { name: 'ghost', table: 'no_such_table', column: 'created_at', days: 30 },
      {
        name: 'old-audit',
        table: 'audit_logs',
        column: 'created_at',
        days: 365,
        where: { column: 'severity', op: 'not in', value: ['critical'] },
      },
    ];
    const env = testEnvironment({
      db: t.db,
      url: t.url,
      config: { retention: { rules }, tables: { sessions: { name: 'app_sessions' } } },
      clock: new ManualClock(NOW),
      baseDir: work,
    });
    const { summary } = await runTestJob(cleanupTokensJob, {}, env, { dryRun: false });
    const result = summary.result as CleanupTokensResult;
    expect(summary.status).toBe('failed');
    expect(result.failedSteps).toEqual(['retention:ghost']);
    expect(summary.error).toMatch(/retention:ghost \(table no_such_table does not exist\)/);
    expect(result.breakdown['retention:stale-sessions']).toBe(2);
    expect(result.breakdown['retention:old-audit']).toBe(1);
    // A missing sessions table is a note, not a failure; the tokens are still cleaned.
    expect(stepOf(result, 'session_tokens')).toMatchObject({ status: 'ok', count: 1 });
    expect(stepOf(result, 'session_tokens').notes.join(' ')).toMatch(
      /sessions: table app_sessions does not exist, nothing to do/,
    );
    const sessions = await t.db.query<{ id: string; payload: string | null }>(
      'SELECT id, payload FROM sessions ORDER BY id',
    );
    expect(sessions).toEqual([
      { id: 's-ancient', payload: null },
      { id: 's-new', payload: 'x' },
      { id: 's-old', payload: null },
    ]);
    const { summary: again } = await runTestJob(cleanupTokensJob, {}, env, { dryRun: false });
    expect((again.result as CleanupTokensResult).breakdown['retention:stale-sessions']).toBe(0);
    expect((again.result as CleanupTokensResult).breakdown['retention:old-audit']).toBe(0);
  });
});

describe.each(ENGINES)('cleanup-tokens statistics JSON paths on $engine', ({ create }) => {
  it('cleanup.statisticsJsonPaths reads figures nested elsewhere in statistics_data', async () => {
    const t = await create();
    const work = tempDir('webjobs-cleanup-paths-');
    try {
      await createReferenceSchema(t.db);
      const rows = [
        {
          users: { total_users: 7 },
          performance: { api_calls: 10, avg_response_time: 100.5 },
          engagement: { page_views: 3 },
        },
        {
          users: { total_users: 9 },
          performance: { api_calls: 20, avg_response_time: 50 },
          engagement: { page_views: 4 },
        },
      ];
      await insertStatistics(
        t.db,
        rows.map((data, i) => ({
          website_id: 9,
          date: `2025-06-0${i + 1}`,
          created_at: `2025-06-0${i + 1} 10:00:00`,
          statistics_data: JSON.stringify(data),
        })),
      );
      const paths = {
        api_calls_today: '$.performance.api_calls',
        average_response_time: '$.performance.avg_response_time',
        page_views_today: '$.engagement.page_views',
        total_users: '$.users.total_users',
      };
      const env = testEnvironment({
        db: t.db,
        url: t.url,
        config: { cleanup: { statisticsJsonPaths: paths } },
        clock: new ManualClock(NOW),
        baseDir: work,
      });
      const { summary } = await runTestJob(cleanupTokensJob, {}, env, { dryRun: false });
      expect(summary.error).toBeUndefined();
      const row = await t.db.queryOne<{ summary_data: string }>(
        'SELECT summary_data FROM website_statistics_monthly WHERE website_id = 9 AND year = 2025 AND month = 6',
      );
      expect(JSON.parse(row?.summary_data ?? '{}')).toEqual({
        record_count: 2,
        avg_api_calls: 15,
        avg_response_time: 75.25,
        total_page_views: 7,
        max_total_users: 9,
      });
      expect(await t.db.queryOne('SELECT id FROM website_statistics')).toBeUndefined();
    } finally {
      await t.cleanup();
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});

describe('cleanup-tokens on sqlite: a busy database', () => {
  it('a step that meets a locked database is tried again after the backoff and succeeds', async () => {
    const t = await sqliteDatabase();
    const work = tempDir('webjobs-cleanup-busy-');
    try {
      await buildFixture(t.db);
      await t.db.query('PRAGMA wal_checkpoint(TRUNCATE)');
      const blocker = new Database(t.location);
      blocker.pragma('busy_timeout = 0');
      const jobDb = SqliteDb.open(t.location, { busyTimeoutMs: 20 });
      const sleeps: number[] = [];
      const env = testEnvironment({
        db: jobDb,
        url: t.url,
        config: { retry: { tries: 3, backoffSeconds: [2] } },
        clock: new ManualClock(NOW),
        baseDir: work,
        sleep: async (ms) => {
          sleeps.push(ms);
          if (blocker.inTransaction) blocker.exec('COMMIT');
        },
      });
      // Another writer takes the write lock once the runner's own bookkeeping is done, as the job starts.
      const blocked: typeof cleanupTokensJob = {
        ...cleanupTokensJob,
        run: (ctx, options) => {
          blocker.exec('BEGIN IMMEDIATE');
          return cleanupTokensJob.run(ctx, options);
        },
      };
      const { summary: real } = await runTestJob(blocked, {}, env, { dryRun: false });
      blocker.close();
      await jobDb.close();
      expect(real.error).toBeUndefined();
      expect(real.status).toBe('succeeded');
      expect(sleeps).toContain(2000);
      expect(env.logs()).toMatch(/failed \(.*(locked|busy).*\); try 2 of 3 in 2\.00 s/i);
      expect((real.result as CleanupTokensResult).breakdown.expired_api_keys).toBe(2);
    } finally {
      await t.cleanup();
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});
