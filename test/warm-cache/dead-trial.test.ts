import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CircuitStore } from '../../src/circuit/store.js';
import { ManualClock } from '../../src/util/clock.js';
import { ENGINES, tempDir, type TestDatabase } from '../support/databases.js';
import { runCli, startCli } from '../support/cli.js';
import { seedRequests, startServer, type TestServer } from './support.js';

const T0 = Date.parse('2026-11-25T06:00:00Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();

describe.each(ENGINES)('a run killed during its half-open trials on $engine', ({ create }) => {
  let t: TestDatabase;
  let server: TestServer;
  let work: string;
  beforeAll(async () => {
    t = await create();
    server = await startServer();
    work = tempDir();
    fs.writeFileSync(
      `${work}/webjobs.config.json`,
      JSON.stringify({ timezone: 'UTC', warm: { urlTemplate: `${server.url}/w/{id}?p={platform}` } }),
    );
    await seedRequests(t.db, [{ platform: 'flaky', firstId: 1, widgets: 4, popularity: 10 }]);
    const store = new CircuitStore(t.db, new ManualClock(new Date(T0)), {
      failureThreshold: 5,
      timeoutMs: 600_000,
      halfOpenRequests: 3,
      leaseMs: 1000,
    });
    for (let i = 0; i < 5; i++) await store.record('flaky', { ok: false, error: 'HTTP 500' }, null);
  });
  afterAll(async () => {
    await server?.close();
    await t?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });
  const env = (now: string) => ({ DATABASE_URL: t.url, WEBJOBS_NOW: now });

  it('holds the trial slots only until their leases expire; then new trials go and a success closes', async () => {
    server.set('flaky', { kind: 'hang' });
    // --timeout 20: each trial slot is leased for 25 s (budget + 5 s).
    const started = Date.now();
    const run = startCli(['warm-cache', '--force', '--timeout', '20', '--concurrency', '4'], {
      cwd: work,
      env: env(at(601_000)),
    });
    const deadline = Date.now() + 30_000;
    while ((server.hits.get('flaky') ?? 0) < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(server.hits.get('flaky')).toBe(3); // three trials; the fourth widget was refused a slot
    run.child.kill('SIGKILL');
    await run.done;
    // The killed run's clock started at 601 s and ran on in real time: its leases end at most this late.
    const leasesEnd = 601_000 + (Date.now() - started) + 25_000;
    const c = await CircuitStore.get(t.db, 'flaky');
    expect(c?.state).toBe('half_open');
    expect(c?.leases).toHaveLength(3);

    // Another run while the dead process's leases are live: no slot, nothing sent.
    const blocked = await runCli(['warm-cache', '--force', '--json'], { cwd: work, env: env(at(611_000)) });
    expect(blocked.code).toBe(0);
    expect(blocked.stderr).toMatch(/took over the warm-cache lock left by pid/);
    expect(JSON.parse(blocked.stdout).result.totals).toMatchObject({ skipped: 4, sent: 0 });
    expect(server.hits.get('flaky')).toBe(3);

    // After the leases expire the circuit is not stuck: new trials go, a success closes it.
    server.set('flaky', { kind: 'ok' });
    const later = await runCli(['warm-cache', '--force', '--json', '--concurrency', '1'], {
      cwd: work,
      env: env(at(leasesEnd + 1_000)),
    });
    expect(later.code).toBe(0);
    const s = JSON.parse(later.stdout);
    expect(s.result.totals).toMatchObject({ ok: 4, trials: 1 });
    expect(s.result.transitions).toEqual(['circuit flaky: half_open -> closed (trial request succeeded)']);
  });
});
