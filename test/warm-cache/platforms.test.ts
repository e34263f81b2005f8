import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CircuitStore } from '../../src/circuit/store.js';
import { insertRows } from '../../src/demo/insert.js';
import { warmCacheJob, type WarmOptions, type WarmResult } from '../../src/jobs/warm-cache/index.js';
import { runJob } from '../../src/runner/runner.js';
import { ManualClock, realSleep } from '../../src/util/clock.js';
import { ENGINES, type TestDatabase } from '../support/databases.js';
import { testEnvironment } from '../support/environment.js';
import { seedRequests, startServer, type TestServer } from './support.js';

/** Seed 004's circuit-breaker-platforms, and which platform a widget is warmed (and guarded) as. */
describe.each(ENGINES)('warm-cache platforms on $engine', ({ create }) => {
  let t: TestDatabase;
  let server: TestServer;
  beforeAll(async () => {
    t = await create();
    server = await startServer();
  });
  afterAll(async () => {
    await server?.close();
    await t?.cleanup();
  });
  beforeEach(async () => {
    await seedRequests(t.db, [
      { platform: 'booking', firstId: 1, widgets: 3, popularity: 10 },
      { platform: 'plain', firstId: 11, widgets: 3, popularity: 5 },
    ]);
    await t.db.execute('DELETE FROM webjobs_circuits').catch(() => undefined);
    await t.db.execute('DELETE FROM settings');
  });

  const setSetting = (key: string, value: string) =>
    t.db.execute(`INSERT INTO settings (${t.db.quote('key')}, ${t.db.quote('value')}) VALUES (?, ?)`, [key, value]);
  const run = async (options: WarmOptions) => {
    const env = testEnvironment({
      db: t.db,
      clock: new ManualClock('2026-11-25T06:00:00Z'),
      sleep: realSleep,
      config: { warm: { urlTemplate: `${server.url}/w/{id}?p={platform}` } },
    });
    const summary = await runJob(warmCacheJob, { force: true, ...options }, env, { dryRun: false, args: {} });
    return { summary, result: summary.result as WarmResult, logs: env.logs() };
  };
  const requestsOf = (platform: string) => server.hits.get(platform) ?? 0;

  it('circuit-breaker-platforms: a platform off the list is never skipped and gets no circuit', async () => {
    server.set('booking', { kind: 'fail' });
    await setSetting('circuit-breaker-failure-threshold', '1');
    const before = requestsOf('booking');
    // Default (all): booking's first failure opens its circuit, its other widgets are skipped.
    const guarded = await run({ concurrency: 1 });
    expect(guarded.result.totals).toMatchObject({ failed: 1, skipped: 2, ok: 3 });
    expect(requestsOf('booking') - before).toBe(1);
    expect(guarded.result.circuits).toEqual({ booking: 'open', plain: 'closed' });

    await t.db.execute('DELETE FROM webjobs_circuits');
    await setSetting('circuit-breaker-platforms', 'plain');
    const unguarded = await run({ concurrency: 1 });
    expect(unguarded.result.totals).toMatchObject({ failed: 3, skipped: 0, ok: 3 });
    expect(requestsOf('booking') - before).toBe(1 + 3);
    expect((await CircuitStore.list(t.db)).map((c) => c.platform)).toEqual(['plain']);
    expect(unguarded.result.circuits).toEqual({ plain: 'closed' });
    expect(unguarded.logs).toMatch(/circuit breaker for plain only/);
    server.set('booking', { kind: 'ok' });
  });

  it('a malformed circuit-breaker-platforms value is exit 2 before anything is sent', async () => {
    await setSetting('circuit-breaker-platforms', '["booking", 7]');
    const before = server.total();
    const { summary } = await run({});
    expect(summary.exitCode).toBe(2);
    expect(summary.error).toMatch(/circuit-breaker-platforms must be a JSON list of strings/);
    expect(server.total()).toBe(before);
  });

  it("a widget's platform is its most frequent one in the window (ties: the lowest name; empty only if none is named)", async () => {
    const day = '2026-11-24 12:00:00';
    const rows: unknown[][] = [];
    const add = (widget: number, platform: string | null, times: number) => {
      for (let i = 0; i < times; i++) rows.push([widget, platform, 200, 10, 0, day]);
    };
    add(21, 'zzz-rare', 1); // MAX(platform) would pick this one
    add(21, 'booking', 30);
    add(22, 'ios', 12);
    add(22, 'android', 12); // a tie: android sorts first
    add(23, null, 25);
    add(23, 'web', 1); // mostly unnamed: the one named platform wins
    await insertRows(
      t.db,
      'api_requests',
      ['widget_id', 'platform', 'status_code', 'response_time_ms', 'cache_hit', 'created_at'],
      rows,
    );
    const { result } = await run({ count: 3 });
    expect(result.widgets.map((w) => [w.widgetId, w.platform, w.requests])).toEqual([
      ['21', 'booking', 31],
      ['23', 'web', 26],
      ['22', 'android', 24],
    ]);
    expect(result.widgets[0]?.url).toBe(`${server.url}/w/21?p=booking`);
  });
});
