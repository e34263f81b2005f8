import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays } from '../../src/util/time.js';
import { runCli } from '../support/cli.js';
import { ENGINES, tempDir, type TestDatabase } from '../support/databases.js';
import { leafParts, parseMime } from '../support/mime.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { buildFixture, FROM_TS, TO_TS } from '../export-report/fixture.js';
import { launchBrowser, outgoing, watchedPage, type TestBrowser } from './browser.js';

/** The period's activities counted here in plain code, row by row: per day and per type. */
async function countsByHand(t: TestDatabase) {
  const byDay = new Map<string, number>();
  const byType = new Map<string, number>();
  for await (const r of t.db.stream<{ created_at: unknown; activity_type: string }>(
    'SELECT created_at, activity_type FROM user_activities',
  )) {
    const at = String(r.created_at);
    if (at < FROM_TS || at >= TO_TS) continue;
    byDay.set(at.slice(0, 10), (byDay.get(at.slice(0, 10)) ?? 0) + 1);
    byType.set(r.activity_type, (byType.get(r.activity_type) ?? 0) + 1);
  }
  return { byDay, byType };
}

let browser: TestBrowser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

describe.each(ENGINES)('export-report mail charts on $engine', ({ create }) => {
  let t: TestDatabase;
  let work: string;
  let sink: SmtpSink;
  let html: string;
  beforeAll(async () => {
    t = await create();
    await buildFixture(t.db);
    work = tempDir('webjobs-report-charts-');
    sink = await startSmtpSink();
    const r = await runCli(['export-report', '--period', 'weekly', '--end', '2026-11-25', '--json'], {
      cwd: work,
      env: { DATABASE_URL: t.url, SMTP_URL: sink.url, WEBJOBS_ADMINS: 'ops@example.test' },
    });
    expect(r.code).toBe(0);
    const mime = parseMime(sink.messages[0]!.raw);
    html = leafParts(mime)
      .find((p) => p.contentType === 'text/html')!
      .body.toString('utf8');
  });
  afterAll(async () => {
    await sink?.close();
    await t?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('the HTML part charts activity by day: one bar per day of the week, each with its count, and a table of the numbers', async () => {
    const { byDay } = await countsByHand(t);
    const days = Array.from({ length: 7 }, (_, i) => addDays('2026-11-18', i));
    const svg = /<svg class="chart bar-chart"[\s\S]*?<\/svg>/.exec(html)?.[0] ?? '';
    expect(svg).not.toBe('');
    const bars = [...svg.matchAll(/<rect class="bar" data-day="([\d-]+)" data-count="(\d+)"/g)].map((m) => [
      m[1],
      Number(m[2]),
    ]);
    expect(bars).toEqual(days.map((d) => [d, byDay.get(d) ?? 0]));
    // Without the picture: the label and a table carry every number.
    for (const d of days) {
      expect(svg).toMatch(new RegExp(`aria-label="[^"]*${d} ${byDay.get(d) ?? 0}(,| \\(total)`));
      expect(html).toMatch(new RegExp(`<td[^>]*>${d}</td><td[^>]*>${byDay.get(d) ?? 0}</td>`));
    }
    expect([...byDay.values()].some((n) => n > 0)).toBe(true);
  });

  it('the HTML part charts activity by type, with the numbers in text beside the bars', async () => {
    const { byType } = await countsByHand(t);
    const svg = /<svg class="chart hbar-chart"[\s\S]*?<\/svg>/.exec(html)?.[0] ?? '';
    expect(svg.match(/<rect class="bar"/g)).toHaveLength(byType.size);
    for (const [type, n] of byType) {
      expect(svg).toContain(`<title>${type}: ${n}</title>`);
      expect(html).toMatch(new RegExp(`Activity by type: [^<]*${type} ${n}`));
    }
  });

  it('has no remote image or script, and shows in Chromium with nothing fetched and no console error', async () => {
    expect(html).not.toMatch(/<img|<script|src=|url\(/i);
    const watch = await watchedPage(browser);
    try {
      await watch.page.setContent(html, { waitUntil: 'load' });
      expect(await watch.page.locator('svg.chart').count()).toBe(2);
      await watch.page.screenshot({ path: `${browser.dir}/mail-${t.engine}.png`, fullPage: true });
      expect(watch.consoleErrors).toEqual([]);
      expect(outgoing(watch)).toEqual([]);
    } finally {
      await watch.page.close();
    }
  });
});
