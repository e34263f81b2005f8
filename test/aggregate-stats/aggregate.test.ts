import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { aggregateStatsJob, type AggregateOptions } from '../../src/jobs/aggregate-stats/index.js';
import { createReferenceSchema } from '../../src/db/schema.js';
import { ManualClock } from '../../src/util/clock.js';
import { ENGINES, tempDir, type TestDatabase } from '../support/databases.js';
import { testEnvironment } from '../support/environment.js';
import { runTestJob } from '../support/run-job.js';
import { createSiteFile, expectedDay, generateRequests, insertRequests, type Req } from './fixture.js';

const NOW = '2026-11-25T03:00:00Z'; // today 2026-11-25 (UTC), yesterday 2026-11-24
const RECENT = {
  '2026-11-20': 300,
  '2026-11-21': 250,
  '2026-11-22': 0,
  '2026-11-23': 1,
  '2026-11-24': 400,
  '2026-11-25': 50,
};
const OLD = { '2026-10-10': 120, '2026-10-11': 90, '2026-10-12': 60 };

describe.each(ENGINES)('aggregate-stats on $engine', ({ create }) => {
  let t: TestDatabase;
  let rows: Req[];
  let dir: string;
  const q = (sql: string) => (t.db.dialect === 'mysql' ? sql.replace(/"/g, '`') : sql);

  const run = async (
    options: AggregateOptions,
    extra: { dryRun?: boolean; config?: Record<string, unknown>; sleepAdvances?: boolean } = {},
  ) => {
    const clock = new ManualClock(NOW);
    const env = testEnvironment({
      db: t.db,
      clock,
      config: { websites: { databasePath: path.join(dir, 'website_{id}.sqlite') }, ...extra.config },
      sleep: extra.sleepAdvances ? async (ms) => clock.advance(ms) : undefined,
    });
    return runTestJob(aggregateStatsJob, options, env, { dryRun: Boolean(extra.dryRun) });
  };
  const summaryRows = () =>
    t.db.query<Record<string, unknown>>(q('SELECT * FROM api_statistics_summary ORDER BY "date"'));
  const detailCount = async (day: string) =>
    Number(
      (
        await t.db.queryOne<{ n: number }>(
          'SELECT COUNT(*) AS n FROM api_requests WHERE created_at >= ? AND created_at < ?',
          [`${day} 00:00:00`, `${day} 23:59:59.999`],
        )
      )?.n,
    );

  beforeAll(async () => {
    t = await create();
    dir = tempDir('webjobs-sites-');
    await createReferenceSchema(t.db);
  });
  afterAll(async () => {
    await t?.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    for (const table of ['api_requests', 'api_statistics_summary', 'websites', 'website_statistics'])
      await t.db.execute(`DELETE FROM ${table}`);
    await t.db.execute(q(`UPDATE settings SET value = '30' WHERE "key" = 'cache-statistics-retention-days'`));
    rows = generateRequests({ ...OLD, ...RECENT });
    await insertRequests(t.db, rows);
  });

  it('rolls a range up to exactly what plain SQL and the fixture say, an empty day included, today untouched', async () => {
    const { summary, result } = await run({ from: '2026-11-20', to: '2026-11-24', noPurge: true });
    expect(summary.status).toBe('succeeded');
    expect(result.daysRolledUp).toBe(5);
    expect(result.rowsRead).toBe(300 + 250 + 0 + 1 + 400);
    const got = await summaryRows();
    expect(got.map((r) => String(r.date).slice(0, 10))).toEqual([
      '2026-11-20',
      '2026-11-21',
      '2026-11-22',
      '2026-11-23',
      '2026-11-24',
    ]);
    for (const r of got) {
      const day = String(r.date).slice(0, 10);
      const want = expectedDay(rows, day);
      // Plain SQL over the detail rows of the day, by the engine.
      const plain = await t.db.queryOne<Record<string, unknown>>(
        'SELECT COUNT(*) AS n, SUM(cache_hit) AS hits, SUM(CASE WHEN status_code >= 500 THEN 1 ELSE 0 END) AS errors, AVG(response_time_ms) AS avg, MAX(response_time_ms) AS mx, COUNT(DISTINCT widget_id) AS w FROM api_requests WHERE created_at LIKE ?',
        [`${day}%`],
      );
      expect(Number(r.total_requests), day).toBe(want.total_requests);
      expect(Number(r.total_requests)).toBe(Number(plain?.n));
      expect(Number(r.cache_hits)).toBe(want.cache_hits);
      expect(Number(r.cache_hits)).toBe(Number(plain?.hits ?? 0));
      expect(Number(r.error_count)).toBe(want.error_count);
      expect(Number(r.error_count)).toBe(Number(plain?.errors ?? 0));
      expect(Number(r.unique_widgets)).toBe(want.unique_widgets);
      expect(Number(r.unique_widgets)).toBe(Number(plain?.w));
      if (want.avg_response_ms === null) {
        expect(r.avg_response_ms).toBeNull();
        expect(r.max_response_ms).toBeNull();
      } else {
        expect(Math.abs(Number(r.avg_response_ms) - want.avg_response_ms)).toBeLessThan(0.006);
        expect(Math.abs(Number(r.avg_response_ms) - Number(plain?.avg))).toBeLessThan(0.006);
        expect(Number(r.max_response_ms)).toBe(want.max_response_ms);
        expect(Number(r.max_response_ms)).toBe(Number(plain?.mx));
      }
    }
    const empty = got.find((r) => String(r.date).startsWith('2026-11-22'));
    expect(Number(empty?.total_requests)).toBe(0);
    expect(Number(empty?.unique_widgets)).toBe(0);
  });

  it('defaults to yesterday; running twice gives identical rows; a re-run replaces the row after the detail changes', async () => {
    await run({ noPurge: true });
    const first = await summaryRows();
    expect(first.map((r) => String(r.date).slice(0, 10))).toEqual(['2026-11-24']);
    expect(Number(first[0]?.total_requests)).toBe(400);
    await run({ noPurge: true });
    expect(await summaryRows()).toEqual(first);

    const late = generateRequests({ '2026-11-24': 25 }, 99);
    await insertRequests(t.db, late);
    await run({ date: '2026-11-24', noPurge: true });
    const again = await summaryRows();
    expect(again).toHaveLength(1);
    const want = expectedDay([...rows, ...late], '2026-11-24');
    expect(Number(again[0]?.total_requests)).toBe(want.total_requests);
    expect(Number(again[0]?.error_count)).toBe(want.error_count);
    expect(Number(again[0]?.unique_widgets)).toBe(want.unique_widgets);
  });

  it('purges detail past retention only for days that have a summary row, in chunks, and keeps the rest', async () => {
    await run({ date: '2026-10-10', noPurge: true });
    await run({ date: '2026-10-12', noPurge: true });
    const { summary, result, logs } = await run({ chunk: 7 });
    expect(summary.status).toBe('succeeded');
    expect(result.retention.cutoff).toBe('2026-10-26');
    expect(result.retention.rowsPurged).toBe(120 + 60);
    expect(result.retention.chunks).toBeGreaterThanOrEqual(Math.ceil(120 / 7));
    expect(result.retention.keptUnsummarizedDays).toEqual(['2026-10-11']);
    expect(result.retention.optimized).toBe(t.db.dialect === 'sqlite' ? 'PRAGMA optimize' : 'ANALYZE TABLE');
    expect(summary.warnings.join('\n')).toMatch(
      /kept 1 day\(s\) of api_requests .*2026-10-11.*--from 2026-10-11 --to 2026-10-11/,
    );
    expect(logs).toContain('deleting api_requests rows of 2026-10-10 .. 2026-10-10');
    expect(await detailCount('2026-10-10')).toBe(0);
    expect(await detailCount('2026-10-11')).toBe(90);
    expect(await detailCount('2026-10-12')).toBe(0);
    for (const [day, n] of Object.entries(RECENT)) expect(await detailCount(day), day).toBe(n);

    // Once 2026-10-11 is rolled up, the next run deletes it too — and its summary row stays right.
    await run({ date: '2026-10-11' });
    expect(await detailCount('2026-10-11')).toBe(0);
    const kept = (await summaryRows()).find((r) => String(r.date).startsWith('2026-10-11'));
    expect(Number(kept?.total_requests)).toBe(90);
  });

  it('purges rows written late (an old day, ids above the retained rows) with their day; an unsummarized day stays', async () => {
    // Backfilled after the recent rows: higher ids than every row past the retention range.
    const late = generateRequests({ '2026-10-10': 25, '2026-10-11': 15 }, 99);
    await insertRequests(t.db, late);
    await run({ date: '2026-10-10', noPurge: true });
    await run({ date: '2026-10-12', noPurge: true });
    const { result } = await run({ chunk: 7 });
    expect(result.retention.rowsPurged).toBe(120 + 25 + 60);
    expect(result.retention.keptUnsummarizedDays).toEqual(['2026-10-11']);
    expect(await detailCount('2026-10-10')).toBe(0);
    expect(await detailCount('2026-10-11')).toBe(90 + 15);
    expect(await detailCount('2026-10-12')).toBe(0);
    for (const [day, n] of Object.entries(RECENT)) expect(await detailCount(day), day).toBe(n);
  });

  it('--retention-days overrides the setting; a malformed setting is exit 2 and writes nothing', async () => {
    await run({ from: '2026-10-10', to: '2026-10-12', noPurge: true });
    const res = await run({ retentionDays: 45 }); // cutoff 2026-10-11
    expect(res.result.retention.rowsPurged).toBe(120);

    await t.db.execute(q(`UPDATE settings SET value = 'thirty' WHERE "key" = 'cache-statistics-retention-days'`));
    await t.db.execute('DELETE FROM api_statistics_summary');
    const bad = await run({});
    expect(bad.summary.exitCode).toBe(2);
    expect(bad.summary.error).toMatch(/cache-statistics-retention-days must be a whole number, got "thirty"/);
    expect(await summaryRows()).toEqual([]);
  });

  it('--dry-run reports the counts and the range and changes nothing', async () => {
    await run({ date: '2026-10-10', noPurge: true });
    const before = await snapshot(t);
    const { summary, result, logs } = await run({ from: '2026-11-20', to: '2026-11-24' }, { dryRun: true });
    expect(summary.status).toBe('dry-run');
    expect(result.days).toEqual([
      { date: '2026-11-20', requests: 300 },
      { date: '2026-11-21', requests: 250 },
      { date: '2026-11-22', requests: 0 },
      { date: '2026-11-23', requests: 1 },
      { date: '2026-11-24', requests: 400 },
    ]);
    expect(result.retention.rowsPurged).toBe(120);
    expect(result.retention.keptUnsummarizedDays).toEqual(['2026-10-11', '2026-10-12']);
    expect(logs).toMatch(/would roll up 2026-11-20 \.\. 2026-11-24: 951 request rows/);
    expect(logs).toMatch(/would delete 120 api_requests rows of 2026-10-10/);
    expect(await snapshot(t)).toEqual(before);
  });

  it('stops cleanly at --max-runtime, reports what is left, and the next run finishes', async () => {
    await run({ from: '2026-10-10', to: '2026-10-12', noPurge: true });
    const first = await run({ chunk: 20, sleepMs: 1000, maxRuntimeSeconds: 3 }, { sleepAdvances: true });
    expect(first.summary.status).toBe('succeeded');
    expect(first.result.retention.stoppedEarly).toBe('max-runtime');
    expect(first.result.retention.rowsPurged).toBe(60);
    expect(first.result.retention.remaining).toBe(270 - 60);
    expect(first.summary.warnings.join('\n')).toMatch(/stopped after --max-runtime with 210 api_requests rows/);
    const second = await run({ chunk: 1000 });
    expect(second.result.retention.rowsPurged).toBe(210);
    for (const day of Object.keys(OLD)) expect(await detailCount(day)).toBe(0);
  });

  describe('per-website statistics', () => {
    const DAY = '2026-11-24';
    beforeEach(async () => {
      for (const f of fs.readdirSync(dir)) fs.rmSync(path.join(dir, f));
      await t.db.execute(
        "INSERT INTO websites (id, name, domain, status) VALUES (1, 'One', 'one.test', 'active'), (2, 'Two', 'two.test', 'active'), (3, 'Three', 'three.test', 'active'), (4, 'Four', 'four.test', 'pending')",
      );
      const blocs = [
        {
          type: 'comment',
          status: 'active',
          created: `${DAY} 08:00:00`,
          updated: `${DAY} 09:00:00`,
          views: 10,
          interactions: 2,
          likes: 3,
          shares: 1,
        },
        {
          type: 'comment',
          status: 'active',
          created: '2026-11-01 08:00:00',
          updated: `${DAY} 23:59:59`,
          views: 5,
          interactions: 1,
          likes: 0,
          shares: 2,
        },
        {
          type: 'review',
          status: 'active',
          created: `${DAY} 00:00:00`,
          updated: '2026-11-23 12:00:00',
          views: 7,
          interactions: 0,
          likes: 9,
          shares: 0,
          rating: 4,
        },
        {
          type: 'review',
          status: 'active',
          created: '2026-11-02 00:00:00',
          updated: '2026-11-02 00:00:00',
          views: 1,
          interactions: 0,
          likes: 0,
          shares: 0,
          rating: 5,
        },
        {
          type: 'review',
          status: 'deleted',
          created: '2026-11-02 00:00:00',
          updated: '2026-11-02 00:00:00',
          views: 1,
          interactions: 0,
          likes: 0,
          shares: 0,
          rating: 3,
        },
        {
          type: 'poll',
          status: 'active',
          created: `${DAY} 12:00:00`,
          updated: '2026-11-25 00:00:00',
          views: 100,
          interactions: 50,
          likes: 1,
          shares: 1,
        },
      ];
      createSiteFile(path.join(dir, 'website_1.sqlite'), { day: DAY, users: 6, blocs });
      createSiteFile(path.join(dir, 'website_3.sqlite'), { day: DAY, users: 2, blocs: [] });
      // Someone else's keys on site 1's row for the day, plus the app's counters.
      await t.db.execute(
        'INSERT INTO website_statistics (website_id, date, statistics_data, api_requests_count, average_response_time, page_views, unique_visitors, error_count, auth_errors, rate_limit_exceeded) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [
          1,
          DAY,
          JSON.stringify({ custom_metric: 17, total_users: 999, nested: { a: 1 } }),
          800,
          42.5,
          1200,
          300,
          12,
          3,
          4,
        ],
      );
    });
    const stats = async (id: number) => {
      const row = await t.db.queryOne<{ d: string }>(
        'SELECT statistics_data AS d FROM website_statistics WHERE website_id = ? AND date = ?',
        [id, DAY],
      );
      return row ? (JSON.parse(row.d) as Record<string, unknown>) : undefined;
    };

    it("merges the seed figures, keeps others' keys, and a missing file fails only that site (exit 1 at the end)", async () => {
      const { summary, result, logs } = await run({ noPurge: true });
      expect(summary.status).toBe('failed');
      expect(summary.exitCode).toBe(1);
      expect(summary.error).toMatch(/statistics failed for 1 of 3 website\(s\): 2 \(Two\)/);
      expect(result.websitesDone).toBe(2);
      expect(result.websitesFailed).toBe(1);
      expect(result.websites.find((w) => w.id === 2)?.error).toMatch(/website_2\.sqlite does not exist/);
      expect(logs).toMatch(/WARN.*website 2 \(Two\) failed: database file .*website_2\.sqlite does not exist/);
      expect(result.daysRolledUp).toBe(1); // the roll-up still happened

      const one = await stats(1);
      expect(one).toMatchObject({
        custom_metric: 17,
        nested: { a: 1 },
        total_users: 6,
        new_users_today: 2,
        active_users_today: 3,
        verified_users: 4,
        total_webblocs: 5,
        new_webblocs_today: 2 + 1 + 0 + 1 - 1, // comment, review, poll created that day
        webblocs_by_type: { comment: 2, poll: 1, review: 2 },
        total_views_today: 15,
        total_interactions_today: 3,
        comments_today: 1,
        reviews_today: 1,
        likes_today: 3,
        shares_today: 3,
        average_rating: 4,
        api_calls_today: 800,
        average_response_time: 42.5,
        page_views_today: 1200,
        unique_visitors_today: 300,
        api_errors_today: 12,
        auth_errors_today: 3,
        rate_limit_exceeded_today: 4,
        error_rate_percentage: 1.5,
        database_size_bytes: fs.statSync(path.join(dir, 'website_1.sqlite')).size,
      });
      const three = await stats(3);
      expect(three).toMatchObject({
        total_users: 2,
        total_webblocs: 0,
        webblocs_by_type: {},
        average_rating: null,
        api_calls_today: 0,
        error_rate_percentage: 0,
      });
      expect(await stats(2)).toBeUndefined();
      expect(await stats(4)).toBeUndefined();
      const stamped = await t.db.query<{ id: number; s: string | null }>(
        'SELECT id, last_stats_processed AS s FROM websites ORDER BY id',
      );
      expect(stamped.map((r) => [Number(r.id), r.s === null ? null : String(r.s).slice(0, 19)])).toEqual([
        [1, '2026-11-25 03:00:00'],
        [2, null],
        [3, '2026-11-25 03:00:00'],
        [4, null],
      ]);

      // Twice: the same figures (the merge is idempotent), others' keys still there.
      await run({ noPurge: true });
      expect(await stats(1)).toEqual(one);
    });

    it('--website limits it to one site; an unknown id is bad usage', async () => {
      const { summary, result } = await run({ noPurge: true, website: 3 });
      expect(summary.exitCode).toBe(0);
      expect(result.websites.map((w) => w.id)).toEqual([3]);
      expect(await stats(1)).toEqual({ custom_metric: 17, total_users: 999, nested: { a: 1 } });
      const bad = await run({ noPurge: true, website: 77 });
      expect(bad.summary.exitCode).toBe(2);
      expect(bad.summary.error).toMatch(/--website 77: no such website/);
    });

    it("processes the WebBloc seed's 'verified' sites by default; websites.statuses picks others", async () => {
      await t.db.execute("UPDATE websites SET status = 'verified' WHERE id IN (1, 3)");
      const { summary, result } = await run({ noPurge: true });
      expect(result.websites.map((w) => w.id)).toEqual([1, 2, 3]); // 2 is still 'active' (the reference default)
      expect(summary.warnings.join('\n')).not.toMatch(/no website has a status/);
      expect((await stats(1))?.total_users).toBe(6);
      const picked = await run({ noPurge: true }, { config: { websites: { statuses: ['pending'] } } });
      expect(picked.result.websites.map((w) => w.id)).toEqual([4]);
    });

    it('warns, naming the statuses present, when no website has a live status', async () => {
      await t.db.execute("UPDATE websites SET status = 'verification_expired'");
      const { summary, result } = await run({ noPurge: true });
      expect(summary.exitCode).toBe(0);
      expect(result.websites).toEqual([]);
      expect(summary.warnings).toEqual([
        'no website has a status in websites.statuses (verified, active); statuses present: verification_expired (4): per-website statistics skipped',
      ]);
      const bad = await run({ noPurge: true }, { config: { websites: { statuses: [] } } });
      expect(bad.summary.exitCode).toBe(2);
      expect(bad.summary.error).toMatch(/websites\.statuses must list at least one status/);
    });

    it('an unreadable site file (not a database) fails that site with a readable reason', async () => {
      fs.writeFileSync(
        path.join(dir, 'website_2.sqlite'),
        'this is not a database, just text that happens to be long enough to look like a header'.repeat(20),
      );
      const { summary, result } = await run({ noPurge: true });
      expect(summary.exitCode).toBe(1);
      expect(result.websites.find((w) => w.id === 2)?.error).toMatch(
        /website_2\.sqlite.*(not a database|file is not a database)/,
      );
      expect((await stats(1))?.total_users).toBe(6);
    });
  });
});

/** Everything that could change: SQLite's file bytes (main file and WAL), MariaDB's table checksums. */
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
  const sums = await t.db.query(`CHECKSUM TABLE ${tables.map((x) => t.db.quote(x)).join(', ')} EXTENDED`);
  return { tables, sums };
}
