import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { ENGINES, tempDir, type TestDatabase } from '../support/databases.js';
import { leafParts, parseMime } from '../support/mime.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { buildFixture } from './fixture.js';

describe.each(ENGINES)('export-report from the command line on $engine', ({ create }) => {
  let t: TestDatabase;
  let work: string;
  let sink: SmtpSink;
  beforeAll(async () => {
    t = await create();
    await buildFixture(t.db);
    work = tempDir('webjobs-report-cli-');
    sink = await startSmtpSink();
  });
  afterAll(async () => {
    await sink?.close();
    await t?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    runCli(['export-report', ...args], { cwd: work, env: { DATABASE_URL: t.url, ...env } });

  it.each([
    [['--period', 'yearly'], /--period must be one of daily, weekly, monthly/],
    [['--end', '2026-02-30'], /--end "2026-02-30" is not a calendar day/],
    [['--end', 'yesterday'], /--end must be YYYY-MM-DD/],
    [['--format', 'xlsx'], /--format must be one of csv, json/],
    [['--to', 'ops@example.test,not an address'], /--to: "not an address" is not an email address/],
  ])('bad usage %j exits 2 with one line, writing nothing', async (args, message) => {
    const r = await cli([...args, '--json']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(fs.existsSync(path.join(work, 'var'))).toBe(false);
  });

  it('bad report config exits 2 before anything runs', async () => {
    const cfg = path.join(work, 'bad.json');
    fs.writeFileSync(cfg, JSON.stringify({ report: { retentionDays: -1 } }));
    const r = await cli(['--config', cfg]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/config report.retentionDays must be at least 0/);
  });

  it('--dry-run --json: the period, row counts and recipients; no file, no folder, no mail, no history', async () => {
    const before = sink.messages.length;
    const r = await cli(['--dry-run', '--json', '--end', '2026-11-25'], {
      SMTP_URL: sink.url,
      WEBJOBS_ADMINS: 'a@example.test, b@example.test',
    });
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ job: 'export-report', status: 'dry-run', dryRun: true });
    expect(s.result).toMatchObject({
      period: 'weekly',
      from: '2026-11-18',
      to: '2026-11-25',
      recipients: ['a@example.test', 'b@example.test'],
    });
    expect(s.result.sections.map((x: { rows: number }) => x.rows)).toEqual([7, 10, 10, 3, 20, 6, 4]);
    expect(fs.existsSync(path.join(work, 'var'))).toBe(false);
    expect(sink.messages.length).toBe(before);
    expect(await t.db.tableExists('webjobs_runs')).toBe(false);
  });

  it('writes the report (0600) under report.dir and mails each admin through SMTP_URL', async () => {
    const before = sink.messages.length;
    const r = await cli(['--period', 'weekly', '--end', '2026-11-25', '--json'], {
      SMTP_URL: sink.url,
      WEBJOBS_ADMINS: 'a@example.test,b@example.test',
    });
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.status).toBe('succeeded');
    expect(s.result.file).toBe(
      path.join(work, 'var/reports/user_activity/user_activity_report_weekly_2026-11-18_to_2026-11-25.csv'),
    );
    expect(fs.statSync(s.result.file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(path.dirname(s.result.file))).toEqual([path.basename(s.result.file)]);
    expect(s.result.mail.sent).toEqual(['a@example.test', 'b@example.test']);
    expect(sink.messages.slice(before).map((m) => m.to)).toEqual([['a@example.test'], ['b@example.test']]);
    expect(r.stderr).toMatch(/INFO {2}wrote .*user_activity_report_weekly_2026-11-18_to_2026-11-25\.csv/);
    const runs = await t.db.query<{ status: string }>("SELECT status FROM webjobs_runs WHERE job = 'export-report'");
    expect(runs.map((x) => x.status)).toEqual(['succeeded']);
  });

  it('without mail configured: the file is written and one line says mail was skipped', async () => {
    const r = await cli(['--json', '--end', '2026-11-25', '--format', 'json'], { WEBJOBS_ADMINS: 'a@example.test' });
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.result.mail.skipped).toMatch(/mail not configured/);
    expect(r.stderr.match(/mail not configured/g)).toHaveLength(1);
    expect(JSON.parse(fs.readFileSync(s.result.file, 'utf8')).sections).toHaveLength(7);
  });

  it('a failed run exits 1 and the runner mails the failure through the same mailer', async () => {
    const blocker = path.join(work, 'not-a-dir');
    fs.writeFileSync(blocker, 'x');
    const cfg = path.join(work, 'fail.json');
    fs.writeFileSync(
      cfg,
      JSON.stringify({ report: { dir: blocker }, mail: { url: sink.url, admins: ['ops@example.test'] } }),
    );
    const before = sink.messages.length;
    const r = await cli(['--config', cfg, '--json', '--end', '2026-11-25']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).error).toMatch(/cannot create report folder/);
    const mails = sink.messages.slice(before);
    expect(mails.map((m) => m.to)).toEqual([['ops@example.test']]);
    const mime = parseMime(mails[0]?.raw ?? '');
    expect(mime.headers.get('subject')).toMatch(/\[ALERT\] webjobs export-report failed/);
    expect(leafParts(mime).some((p) => p.body.toString('utf8').includes('cannot create report folder'))).toBe(true);
  });
});
