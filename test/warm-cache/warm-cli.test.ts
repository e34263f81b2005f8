import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CircuitStore } from '../../src/circuit/store.js';
import { ENGINES, tempDir, type TestDatabase } from '../support/databases.js';
import { runCli } from '../support/cli.js';
import { formatLocalDateTime } from '../../src/util/time.js';
import { seedRequests, startServer, type TestServer } from './support.js';

const TOKEN = 'tok-SECRET-4f9a2c81';

interface WidgetOut {
  widgetId: string;
  platform: string;
  url: string;
  status: string;
  statusCode: number | null;
  totalMs: number | null;
  attempts: number;
  trial: boolean;
  reason?: string;
}

describe.each(ENGINES)('warm-cache from the command line on $engine', ({ create }) => {
  let t: TestDatabase;
  let server: TestServer;
  let work: string;
  let cfg: string;
  beforeAll(async () => {
    t = await create();
    server = await startServer();
    work = tempDir();
    cfg = path.join(work, 'webjobs.config.json');
    fs.writeFileSync(
      cfg,
      JSON.stringify({
        timezone: 'UTC',
        warm: {
          urlTemplate: `${server.url}/api/v1/widgets/{id}?p={platform}`,
          headers: { Authorization: 'Bearer ${API_TOKEN}' },
        },
      }),
    );
    // bad: widgets 1-8 (the most requested), good: 101-104.
    await seedRequests(t.db, [
      { platform: 'bad', firstId: 1, widgets: 8, popularity: 100 },
      { platform: 'good', firstId: 101, widgets: 4, popularity: 10 },
    ]);
  });
  afterAll(async () => {
    await server?.close();
    await t?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  const cli = (args: string[], now = '2026-11-25T06:00:00Z') =>
    runCli(args, { cwd: work, env: { DATABASE_URL: t.url, WEBJOBS_CONFIG: cfg, API_TOKEN: TOKEN, WEBJOBS_NOW: now } });
  const json = (r: { stdout: string }) =>
    JSON.parse(r.stdout) as {
      status: string;
      error?: string;
      result: {
        totals: Record<string, number>;
        widgets: WidgetOut[];
        transitions: string[];
        circuits: Record<string, string>;
        skipped?: boolean;
      };
    };
  const hits = (p: string) => server.hits.get(p) ?? 0;

  it('is skipped while cache-warming-enabled is 0 (the default): exit 0, nothing sent', async () => {
    const r = await cli(['warm-cache', '--json']);
    expect(r.code).toBe(0);
    expect(json(r).status).toBe('skipped');
    expect(r.stderr).toMatch(/cache-warming-enabled/);
    expect(server.total()).toBe(0);
  });

  it('settings set checks the value by type (bad value: exit 2, unchanged) and enables warming', async () => {
    const bad = await cli(['settings', 'set', 'cache-warming-enabled', 'maybe']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect((await cli(['settings', 'get', 'cache-warming-enabled'])).stdout).toBe('0\n');
    const ok = await cli(['settings', 'set', 'cache-warming-enabled', 'on']);
    expect(ok.code).toBe(0);
    expect((await cli(['settings', 'get', 'cache-warming-enabled'])).stdout).toBe('1\n');
  });

  it('--dry-run lists the URLs (filled in, encoded) and sends nothing, writes nothing', async () => {
    const r = await cli(['warm-cache', '--dry-run', '--json', '--count', '12']);
    expect(r.code).toBe(0);
    const s = json(r);
    expect(s.status).toBe('dry-run');
    expect(s.result.widgets.map((w) => w.widgetId)).toEqual([
      '1',
      '2',
      '3',
      '4',
      '5',
      '6',
      '7',
      '8',
      '101',
      '102',
      '103',
      '104',
    ]);
    expect(s.result.widgets[0]?.url).toBe(`${server.url}/api/v1/widgets/1?p=bad`);
    expect(r.stderr).toContain(`would GET ${server.url}/api/v1/widgets/101?p=good`);
    expect(server.total()).toBe(0);
    // The skipped run above made webjobs' tables (migrate); the dry run adds no circuit to them.
    expect(await t.db.query('SELECT platform FROM webjobs_circuits')).toEqual([]);
  });

  it('a failing platform opens its circuit after the threshold; the rest is skipped, the other platform warmed', async () => {
    server.set('bad', { kind: 'fail', status: 500 });
    const r = await cli(['warm-cache', '--json', '--count', '12', '--concurrency', '1']);
    expect(r.code).toBe(0);
    const s = json(r);
    expect(s.status).toBe('succeeded');
    expect(s.result.totals).toMatchObject({ widgets: 12, sent: 9, ok: 4, failed: 5, skipped: 3 });
    expect(hits('bad')).toBe(5);
    expect(hits('good')).toBe(4);
    expect(s.result.transitions).toEqual([
      'circuit bad: closed -> open (5 consecutive failure(s), threshold 5 (last: HTTP 500))',
    ]);
    expect(r.stderr.split('\n').filter((l) => l.includes('circuit bad: closed -> open'))).toHaveLength(1);
    // Token from the environment was sent, and never printed.
    expect(server.headers.at(-1)?.authorization).toBe(`Bearer ${TOKEN}`);
    expect(server.headers.at(-1)?.['user-agent']).toMatch(/^webjobs\//);
    expect(r.stdout + r.stderr).not.toContain(TOKEN);
    expect((await CircuitStore.get(t.db, 'bad'))?.state).toBe('open');
  });

  it('the next run (a new process, a minute later) skips the open platform without sending to it', async () => {
    const r = await cli(['warm-cache', '--json', '--count', '12'], '2026-11-25T06:01:00Z');
    expect(r.code).toBe(0);
    const s = json(r);
    expect(s.result.totals).toMatchObject({ ok: 4, failed: 0, skipped: 8 });
    expect(hits('bad')).toBe(5);
    // The CLI's clock starts at WEBJOBS_NOW and runs on: the circuit opened a moment after 06:00:00.
    const opened = (await CircuitStore.get(t.db, 'bad'))!.openedAtMs!;
    expect(opened - Date.parse('2026-11-25T06:00:00Z')).toBeLessThan(30_000);
    expect(s.result.widgets.find((w) => w.widgetId === '1')?.reason).toBe(
      `circuit open until ${formatLocalDateTime(new Date(opened + 600_000), 'UTC')}`,
    );
  });

  it('circuit status --json matches the stored circuits', async () => {
    const r = await cli(['circuit', 'status', '--json'], '2026-11-25T06:02:00Z');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    const stored = await CircuitStore.list(t.db);
    expect(s).toMatchObject({
      total_platforms: 2,
      closed: 1,
      open: 1,
      half_open: 0,
      total_requests: 9 + 4,
      total_failures: 5,
    });
    for (const c of stored) {
      expect(s.platforms.find((p: { platform: string }) => p.platform === c.platform)).toMatchObject({
        state: c.state,
        failure_count: c.failureCount,
        total_requests: c.totalRequests,
        version: c.version,
      });
    }
    const opened = (await CircuitStore.get(t.db, 'bad'))!.openedAtMs!;
    expect(s.platforms.find((p: { platform: string }) => p.platform === 'bad')).toMatchObject({
      opened_at: formatLocalDateTime(new Date(opened), 'UTC'),
      half_open_at: formatLocalDateTime(new Date(opened + 600_000), 'UTC'),
      success_rate: 0,
    });
    expect(s.platforms.find((p: { platform: string }) => p.platform === 'good')).toMatchObject({ success_rate: 100 });
  });

  it('after the timeout three trial requests go out and a success closes the circuit', async () => {
    server.set('bad', { kind: 'ok', delayMs: 400 });
    const before = hits('bad');
    const opened = (await CircuitStore.get(t.db, 'bad'))!.openedAtMs!;
    const early = await cli(
      ['warm-cache', '--json', '--count', '12', '--concurrency', '3'],
      new Date(opened + 590_000).toISOString(),
    );
    expect(json(early).result.totals).toMatchObject({ skipped: 8, trials: 0 });
    expect(hits('bad')).toBe(before);
    const r = await cli(
      ['warm-cache', '--json', '--count', '12', '--concurrency', '3'],
      new Date(opened + 600_000).toISOString(),
    );
    expect(r.code).toBe(0);
    const s = json(r);
    expect(s.result.totals).toMatchObject({ ok: 12, failed: 0, skipped: 0, trials: 3 });
    expect(s.result.widgets.filter((w) => w.trial).map((w) => w.widgetId)).toEqual(['1', '2', '3']);
    expect(hits('bad') - before).toBe(8);
    expect(s.result.transitions).toEqual([
      expect.stringMatching(/^circuit bad: open -> half_open \(/),
      'circuit bad: half_open -> closed (trial request succeeded)',
    ]);
    expect(s.result.circuits).toEqual({ bad: 'closed', good: 'closed' });
  });

  it('a run where no request succeeds exits 1; circuit reset closes the circuit again', async () => {
    server.set('bad', { kind: 'fail', status: 502 });
    const r = await cli(['warm-cache', '--json', '--count', '8', '--concurrency', '1'], '2026-11-25T07:00:00Z');
    expect(r.code).toBe(1);
    const s = json(r);
    expect(s.status).toBe('failed');
    expect(s.error).toMatch(/no request succeeded/);
    expect(s.result.totals).toMatchObject({ ok: 0, failed: 5, skipped: 3 });
    expect((await CircuitStore.get(t.db, 'bad'))?.state).toBe('open');

    const unknown = await cli(['circuit', 'reset', 'nope']);
    expect(unknown.code).toBe(2);
    const reset = await cli(['circuit', 'reset', 'bad', '--json']);
    expect(reset.code).toBe(0);
    expect(JSON.parse(reset.stdout).reset).toEqual([{ platform: 'bad', from: 'open', to: 'closed' }]);
    expect(reset.stderr).toMatch(/circuit bad: open -> closed \(reset by operator\)/);
    expect(await CircuitStore.get(t.db, 'bad')).toMatchObject({ state: 'closed', failureCount: 0 });
  });

  it('a hung endpoint is cut off at the timeout; a 429 with a short Retry-After is waited for and retried', async () => {
    await seedRequests(t.db, [
      { platform: 'hang', firstId: 301, widgets: 1, popularity: 3 },
      { platform: 'busy', firstId: 401, widgets: 1, popularity: 3 },
    ]);
    server.set('hang', { kind: 'hang' });
    server.set('busy', { kind: 'retry-after', seconds: 1, times: 1 });
    const r = await cli(['warm-cache', '--json', '--timeout', '2.5'], '2026-11-25T08:00:00Z');
    expect(r.code).toBe(0);
    const s = json(r);
    const by = (id: string) => s.result.widgets.find((w) => w.widgetId === id)!;
    expect(by('301')).toMatchObject({ status: 'failed', reason: 'timed out after 2500 ms' });
    expect(by('301').totalMs).toBeGreaterThanOrEqual(2400);
    expect(by('301').totalMs).toBeLessThan(4000);
    expect(by('401')).toMatchObject({ status: 'ok', statusCode: 200, attempts: 2 });
    expect(s.result.totals).toMatchObject({ ok: 1, failed: 1, deferred: 0 });
  });

  it('a 429 whose Retry-After exceeds the budget defers that widget and holds every later one back (exit 0)', async () => {
    await seedRequests(t.db, [
      { platform: 'swamped', firstId: 501, widgets: 1, popularity: 5 },
      { platform: 'good', firstId: 502, widgets: 2, popularity: 3 },
    ]);
    server.set('swamped', { kind: 'retry-after', seconds: 120, times: 99 });
    const before = hits('good');
    const r = await cli(['warm-cache', '--json', '--timeout', '2', '--concurrency', '1'], '2026-11-25T08:30:00Z');
    expect(r.code).toBe(0);
    const s = json(r);
    expect(s.result.widgets.map((w) => [w.widgetId, w.status, w.attempts])).toEqual([
      ['501', 'deferred', 1],
      ['502', 'deferred', 0],
      ['503', 'deferred', 0],
    ]);
    expect(s.result.widgets[0]?.reason).toMatch(/429 with Retry-After 120 s/);
    expect(s.result.widgets[1]?.reason).toMatch(/the app asked to wait until/);
    expect(hits('good')).toBe(before);
    expect((await CircuitStore.get(t.db, 'swamped'))?.failureCount ?? 0).toBe(0);
  });

  it('refuses a non-http(s) urlTemplate before anything runs (exit 2, one line)', async () => {
    const bad = path.join(work, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ warm: { urlTemplate: 'file:///etc/passwd?{id}' } }));
    const r = await runCli(['warm-cache', '--config', bad], { cwd: work, env: { DATABASE_URL: t.url } });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      'webjobs: error: config warm.urlTemplate must be an http:// or https:// URL, got file:',
    ]);
  });
});
