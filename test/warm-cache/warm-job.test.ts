import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CircuitStore } from '../../src/circuit/store.js';
import { warmCacheJob, type WarmOptions } from '../../src/jobs/warm-cache/index.js';
import { ManualClock, realSleep } from '../../src/util/clock.js';
import { ENGINES, type TestDatabase } from '../support/databases.js';
import { testEnvironment } from '../support/environment.js';
import { runTestJob } from '../support/run-job.js';
import { seedRequests, startServer, type TestServer } from './support.js';

describe.each(ENGINES)('warm-cache job on $engine', ({ create }) => {
  let t: TestDatabase;
  let server: TestServer;
  beforeAll(async () => {
    t = await create();
    server = await startServer();
    await seedRequests(t.db, [
      { platform: 'a b/c', firstId: 1, widgets: 3, popularity: 10 },
      { platform: 'plain', firstId: 11, widgets: 3, popularity: 5 },
    ]);
  });
  afterAll(async () => {
    await server?.close();
    await t?.cleanup();
  });

  const setSetting = (key: string, value: string) =>
    t.db.execute(`UPDATE settings SET ${t.db.quote('value')} = ? WHERE ${t.db.quote('key')} = ?`, [value, key]);
  const run = async (options: WarmOptions, config: Record<string, unknown> = {}) => {
    const env = testEnvironment({
      db: t.db,
      clock: new ManualClock('2026-11-25T06:00:00Z'),
      sleep: realSleep,
      config: { warm: { urlTemplate: `${server.url}/w/{id}?p={platform}`, ...config } },
    });
    return runTestJob(warmCacheJob, { force: true, ...options }, env, { dryRun: false });
  };

  it('with the breaker disabled every request goes and no circuit is stored; platforms are URL-encoded', async () => {
    server.set('a b/c', { kind: 'fail' });
    await setSetting('circuit-breaker-enabled', '0');
    await setSetting('circuit-breaker-failure-threshold', '1');
    const { summary, result } = await run({ concurrency: 1 });
    await setSetting('circuit-breaker-enabled', '1');
    await setSetting('circuit-breaker-failure-threshold', '5');
    expect(summary.status).toBe('succeeded');
    expect(result.totals).toMatchObject({ widgets: 6, sent: 6, failed: 3, ok: 3, skipped: 0 });
    expect(result.widgets[0]?.url).toBe(`${server.url}/w/1?p=a%20b%2Fc`);
    expect(server.hits.get('a b/c')).toBe(3);
    expect(await CircuitStore.list(t.db)).toEqual([]);
    server.set('a b/c', { kind: 'ok' });
  });

  it('--rate spaces requests over all workers; HEAD is sent as HEAD', async () => {
    const t0 = performance.now();
    const before = server.methods.length;
    const { result } = await run({ rate: 10, concurrency: 4, method: 'HEAD', count: 4 });
    expect(server.methods.slice(before)).toEqual(['HEAD', 'HEAD', 'HEAD', 'HEAD']);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290); // 4 requests at 10/s: the last one 300 ms after the first
    expect(result.totals.ok).toBe(4);
    expect(result.method).toBe('HEAD');
  });

  it('literal auth header values and env-provided tokens never reach the logs or the summary', async () => {
    process.env.WARM_TEST_TOKEN = 'env-token-7d1e9b3c';
    try {
      const { summary, logs } = await run(
        { count: 2 },
        {
          headers: { 'X-Api-Key': 'literal-key-55aa77', Authorization: 'Bearer ${WARM_TEST_TOKEN}' },
          urlTemplate: `${server.url}/w/{id}?p={platform}&key=literal-key-55aa77`,
        },
      );
      expect(server.headers.at(-1)?.['x-api-key']).toBe('literal-key-55aa77');
      expect(server.headers.at(-1)?.authorization).toBe('Bearer env-token-7d1e9b3c');
      const text = JSON.stringify(summary) + logs;
      expect(text).not.toContain('literal-key-55aa77');
      expect(text).not.toContain('env-token-7d1e9b3c');
      expect(JSON.stringify(summary.result)).toContain('key=***');
    } finally {
      delete process.env.WARM_TEST_TOKEN;
    }
  });
});
