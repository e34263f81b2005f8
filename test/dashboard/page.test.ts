import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSchedule } from '../../src/schedule/schedule.js';
import { runCli } from '../support/cli.js';
import { ENGINES, tempDir, type TestDatabase } from '../support/databases.js';
import { launchBrowser, outgoing, watchedPage, type TestBrowser } from './browser.js';
import {
  buildDashboardFixture,
  CIRCUITS,
  daysAgo,
  generatedApiDays,
  generatedRuns,
  LOCKED_JOB,
  NOW,
  PAUSED_JOB,
  writeBackupFiles,
} from './fixture.js';

const inWindow = (day: string, days: number) => day >= daysAgo(days - 1) && day <= daysAgo(0);
const distinctDays = (days: string[]) => new Set(days).size;

let browser: TestBrowser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

/** Writes the page with the real CLI, then opens its HTML in Chromium as an about:blank document. */
async function renderInBrowser(t: TestDatabase, work: string, shot: string) {
  const out = path.join(work, 'dashboard.html');
  const r = await runCli(['dashboard', '--out', out, '--config', path.join(work, 'webjobs.config.json'), '--json'], {
    cwd: work,
    env: { DATABASE_URL: t.url, WEBJOBS_NOW: NOW },
  });
  expect(r.stderr).not.toMatch(/error/i);
  expect(r.code).toBe(0);
  expect(fs.statSync(out).mode & 0o777).toBe(0o600);
  const html = fs.readFileSync(out, 'utf8');
  const watch = await watchedPage(browser);
  await watch.page.setContent(html, { waitUntil: 'load' });
  const file = path.join(browser.dir, shot);
  await watch.page.screenshot({ path: file, fullPage: true });
  expect(fs.statSync(file).size).toBeGreaterThan(10_000);
  return { watch, html, summary: JSON.parse(r.stdout) as { bytes: number; warnings: string[] } };
}

function writeConfig(work: string, backupDir: string) {
  fs.writeFileSync(
    path.join(work, 'webjobs.config.json'),
    JSON.stringify({ timezone: 'UTC', backup: { dir: backupDir, retentionDays: 7 } }),
  );
}

describe.each(ENGINES)('dashboard page in Chromium, generated data on $engine', ({ create }) => {
  let t: TestDatabase;
  let work: string;
  let result: Awaited<ReturnType<typeof renderInBrowser>>;
  beforeAll(async () => {
    t = await create();
    await buildDashboardFixture(t.db);
    work = tempDir('webjobs-dashboard-');
    writeBackupFiles(path.join(work, 'backups'));
    writeConfig(work, path.join(work, 'backups'));
    result = await renderInBrowser(t, work, `generated-${t.engine}.png`);
  });
  afterAll(async () => {
    await result?.watch.page.close();
    await t?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('loads with no console error and no request leaving the page', () => {
    expect(result.watch.consoleErrors).toEqual([]);
    expect(outgoing(result.watch)).toEqual([]);
    expect(result.html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/i);
  });

  it('has a row per scheduled job and per job with history, with lock holder and pause', async () => {
    const page = result.watch.page;
    const expected = [
      ...new Set([...(await defaultSchedule()).map((d) => d.job), ...generatedRuns().map((r) => r.job)]),
    ];
    const rows = await page.locator('tr.job-row').evaluateAll((els) => els.map((e) => e.getAttribute('data-job')));
    expect(rows.sort()).toEqual(expected.sort());
    expect(await page.locator(`tr.job-row[data-job="${LOCKED_JOB}"]`).innerText()).toContain('other-host pid 4321');
    expect(await page.locator(`tr.job-row[data-job="${PAUSED_JOB}"]`).innerText()).toContain('migration');
    expect(await page.locator('tr.job-row[data-job="aggregate-stats"]').innerText()).toContain('2026-11-26 02:00:00');
  });

  it('draws one timeline bar per day with runs in the last 30 days, coloured by the worst outcome', async () => {
    const page = result.watch.page;
    for (const job of new Set(generatedRuns().map((r) => r.job))) {
      const days = generatedRuns()
        .filter((r) => r.job === job && inWindow(r.day, 30))
        .map((r) => r.day);
      const bars = page.locator(`tr.job-row[data-job="${job}"] td.timeline svg rect.bar`);
      expect(await bars.count(), job).toBe(distinctDays(days));
    }
    const failed = page.locator(`tr.job-row[data-job="aggregate-stats"] rect.bar[data-day="${daysAgo(10)}"]`);
    expect(await failed.getAttribute('data-status')).toBe('failed');
    const twice = page.locator(`tr.job-row[data-job="aggregate-stats"] rect.bar[data-day="${daysAgo(3)}"]`);
    expect(await twice.getAttribute('data-runs')).toBe('2');
    const abandoned = page.locator(`tr.job-row[data-job="warm-cache"] rect.bar[data-day="${daysAgo(4)}"]`);
    expect(await abandoned.getAttribute('data-status')).toBe('broken');
  });

  it('charts backup sizes and durations per type over 90 days with the retention window', async () => {
    const page = result.watch.page;
    for (const type of ['critical', 'full']) {
      const days = generatedRuns()
        .filter((r) => r.job === 'backup-db' && (r.result as { type: string }).type === type && inWindow(r.day, 90))
        .map((r) => r.day);
      const charts = page.locator(`.backup-type[data-type="${type}"] svg`);
      expect(await charts.count()).toBe(2);
      for (const i of [0, 1]) expect(await charts.nth(i).locator('rect.bar').count()).toBe(distinctDays(days));
      expect(await charts.nth(0).locator('rect.band title').textContent()).toContain('last 7 day(s)');
    }
    const today = page.locator(`.backup-type[data-type="critical"] rect.bar[data-day="${daysAgo(0)}"]`).first();
    expect(await today.getAttribute('data-bytes')).toBe('300000');
  });

  it('charts the API summary for 90 days: one point per day with figures in each of the four series', async () => {
    const page = result.watch.page;
    const expected = generatedApiDays().filter((d) => inWindow(d.date, 90)).length;
    expect(expected).toBe(45);
    for (const series of ['requests', 'cache-hit', 'error-rate', 'avg-response'])
      expect(await page.locator(`figure[data-series="${series}"] svg circle.pt`).count(), series).toBe(expected);
    const first = generatedApiDays()[0]!;
    const hitTitle = await page
      .locator('figure[data-series="cache-hit"] circle.pt')
      .last()
      .locator('title')
      .textContent();
    expect(hitTitle).toBe(`${first.date}: ${Math.round((first.hits / first.requests) * 10000) / 100}%`);
  });

  it('lists each circuit with its state and the last transitions', async () => {
    const page = result.watch.page;
    for (const c of CIRCUITS)
      expect(await page.locator(`tr.circuit-row[data-platform="${c.platform}"] td`).nth(1).innerText()).toBe(
        c.state.replace('_', '-'),
      );
    const transitions = await page.locator('li.transition').allInnerTexts();
    expect(transitions).toHaveLength(2);
    expect(transitions.join('\n')).toContain('circuit booking: closed -> open');
  });

  it('warns about the stale job, the stale backup and the sudden size drop', async () => {
    const warnings = await result.watch.page.locator('li.warning').allInnerTexts();
    expect(warnings).toEqual(result.summary.warnings);
    expect(warnings.some((w) => w.startsWith('cleanup-cache is stale'))).toBe(true);
    expect(warnings.some((w) => /newest full backup is \d+(\.\d)? h old/.test(w))).toBe(true);
    expect(warnings.some((w) => w.startsWith('critical backup shrank'))).toBe(true);
    expect(warnings).toHaveLength(3);
  });
});

async function fingerprint(t: TestDatabase): Promise<string> {
  const tables = (await t.db.listTables()).sort().join(',');
  if (t.engine !== 'sqlite') return tables;
  const dir = path.dirname(t.location);
  // The -shm file is the readers' shared-memory index (every reader marks it), not the database's content.
  const files = fs
    .readdirSync(dir)
    .filter((f) => !f.endsWith('-shm'))
    .sort()
    .map(
      (f) =>
        `${f}:${createHash('sha256')
          .update(fs.readFileSync(path.join(dir, f)))
          .digest('hex')}`,
    );
  return `${tables}|${files.join(',')}`;
}

describe.each(ENGINES)('dashboard page in Chromium, empty database on $engine', ({ create }) => {
  let t: TestDatabase;
  let work: string;
  beforeAll(async () => {
    t = await create();
    work = tempDir('webjobs-dashboard-empty-');
    writeConfig(work, path.join(work, 'no-backups'));
  });
  afterAll(async () => {
    await t?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('a database without any table: empty states, no error, and the database is left exactly as it was', async () => {
    const before = await fingerprint(t);
    const { watch, html } = await renderInBrowser(t, work, `empty-${t.engine}.png`);
    try {
      expect(await fingerprint(t)).toBe(before);
      expect(await t.db.listTables()).toEqual([]);
      expect(fs.existsSync(path.join(work, 'no-backups'))).toBe(false);
      expect(watch.consoleErrors).toEqual([]);
      expect(outgoing(watch)).toEqual([]);
      const rows = await watch.page.locator('tr.job-row').count();
      expect(rows).toBe((await defaultSchedule()).length);
      expect(await watch.page.locator('svg').count()).toBe(0);
      const text = await watch.page.locator('body').innerText();
      expect(text).toContain('No run history yet');
      expect(text).toContain('No successful backup-db run in the last 90 days.');
      expect(text).toContain('No api_statistics_summary table in this database.');
      expect(text).toContain('No circuit recorded');
      expect(html.length).toBeLessThan(50_000);
    } finally {
      await watch.page.close();
    }
  });

  it('the reference schema with no rows: empty states too', async () => {
    const { createReferenceSchema } = await import('../../src/db/schema.js');
    await createReferenceSchema(t.db);
    const { watch } = await renderInBrowser(t, work, `schema-only-${t.engine}.png`);
    try {
      expect(watch.consoleErrors).toEqual([]);
      expect(await watch.page.locator('body').innerText()).toContain(
        'No api_statistics_summary rows in the last 90 days.',
      );
      expect(await watch.page.locator('tr.job-row').count()).toBe((await defaultSchedule()).length);
    } finally {
      await watch.page.close();
    }
  });
});

describe('dashboard on an application SQLite file without webjobs tables', () => {
  it('leaves it byte for byte as it was (rollback journal kept, no table, no -wal file)', async () => {
    const work = tempDir('webjobs-dashboard-app-');
    try {
      const file = path.join(work, 'app.sqlite');
      const { default: Database } = await import('better-sqlite3');
      const raw = new Database(file);
      raw.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('kept')");
      raw.close();
      const before = fs.readFileSync(file);
      writeConfig(work, path.join(work, 'backups'));
      const r = await runCli(['dashboard', '--out', 'd.html'], { cwd: work, env: { DATABASE_URL: `sqlite:${file}` } });
      expect(r.code).toBe(0);
      expect(Buffer.compare(fs.readFileSync(file), before)).toBe(0);
      expect(fs.readdirSync(work).sort()).toEqual(['app.sqlite', 'd.html', 'webjobs.config.json']);
      expect(fs.readFileSync(path.join(work, 'd.html'), 'utf8')).toContain('No run history yet');
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});

describe('dashboard --out: bad usage', () => {
  it.each([
    [[], /give either --out FILE or --serve/],
    [['--out', 'x.html', '--serve'], /give either --out FILE or --serve/],
    [['--serve', '--port', '70000'], /--port must be between 0 and 65535/],
    [['--serve', '--token', 'short'], /the dashboard token must be at least 8 characters/],
  ])('%j exits 2 with one line', async (args, message) => {
    const work = tempDir('webjobs-dashboard-usage-');
    try {
      const r = await runCli(['dashboard', ...args], { cwd: work });
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      expect(fs.readdirSync(work)).toEqual([]);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });

  it('a SQLite file that does not exist is an error, and is not created', async () => {
    const work = tempDir('webjobs-dashboard-missing-');
    try {
      const r = await runCli(['dashboard', '--out', 'd.html', '--db', 'sqlite:var/none.sqlite'], { cwd: work });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/no SQLite database at .*none\.sqlite/);
      expect(fs.readdirSync(work)).toEqual([]);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});
