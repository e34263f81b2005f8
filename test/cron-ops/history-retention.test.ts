import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ConfigObject } from '../../src/config/config.js';
import { migrate } from '../../src/db/migrate.js';
import { defineJob } from '../../src/jobs/definition.js';
import { pruneRunHistory } from '../../src/runner/prune-history.js';
import { runJob } from '../../src/runner/runner.js';
import { ManualClock } from '../../src/util/clock.js';
import { ENGINES, type TestDatabase } from '../support/databases.js';
import { testEnvironment } from '../support/environment.js';

/** A job that does nothing: only its finish phase (and the history it keeps) matters here. */
const noopJob = defineJob<object, object, { done: true }>({
  name: 'noop',
  description: 'test job: does nothing',
  timeoutSeconds: 60,
  examples: [],
  options: [],
  resolve: () => ({}),
  run: async () => ({ done: true }),
});

const DAY = 86_400_000;
const NOW = new Date('2026-11-25T03:00:00Z');

/** webjobs_runs' retention (config history.retentionDays), pruned by the runner's finish phase once a day. */
describe.each(ENGINES)('webjobs_runs retention on $engine', ({ create }) => {
  let t: TestDatabase;
  let n = 0;
  beforeAll(async () => {
    t = await create();
    await migrate(t.db);
  });
  afterAll(async () => {
    await t?.cleanup();
  });
  beforeEach(async () => {
    await t.db.execute('DELETE FROM webjobs_runs');
    await t.db.execute('DELETE FROM webjobs_state');
  });

  const addRun = async (job: string, status: string, daysAgo: number) => {
    const started = new Date(NOW.getTime() - daysAgo * DAY);
    const id = `seeded-${++n}`;
    await t.db.execute(
      'INSERT INTO webjobs_runs (run_id, job, status, attempts, started_at, started_ms, host, pid) VALUES (?, ?, ?, 1, ?, ?, ?, ?)',
      [id, job, status, started.toISOString().slice(0, 19).replace('T', ' '), started.getTime(), 'test', 1],
    );
    return id;
  };
  const runIds = async () =>
    (await t.db.query<{ run_id: string }>('SELECT run_id FROM webjobs_runs ORDER BY id')).map((r) => r.run_id);
  const run = async (clock: ManualClock, config: ConfigObject = {}, dryRun = false) => {
    const env = testEnvironment({ db: t.db, clock, config });
    const summary = await runJob(noopJob, {}, env, { dryRun, args: {} });
    return { summary, logs: env.logs() };
  };

  it("deletes runs older than history.retentionDays (default 90), keeping running ones and each job's last run and last success", async () => {
    const oldNoop = await addRun('noop', 'succeeded', 200);
    const oldNoopFailed = await addRun('noop', 'failed', 120);
    const recentNoop = await addRun('noop', 'failed', 30);
    const bOldSuccess = await addRun('b', 'succeeded', 300);
    const bPruned = await addRun('b', 'failed', 250);
    const bLast = await addRun('b', 'failed', 200);
    const stillRunning = await addRun('c', 'running', 100);
    const cLast = await addRun('c', 'skipped', 95);
    const { summary, logs } = await run(new ManualClock(NOW));
    expect(summary.status).toBe('succeeded');
    expect(summary.warnings).toEqual([]);
    const left = await runIds();
    expect(left).toEqual([recentNoop, bOldSuccess, bLast, stillRunning, cLast, summary.runId]);
    for (const gone of [oldNoop, oldNoopFailed, bPruned]) expect(left).not.toContain(gone);
    expect(logs).toContain('pruned 3 run(s) older than 90 days from webjobs_runs');
  });

  it('history.retentionDays is read from config; a dry run prunes nothing', async () => {
    const fortyDays = await addRun('noop', 'failed', 40);
    await addRun('noop', 'succeeded', 20);
    await run(new ManualClock(NOW), { history: { retentionDays: 90 } }, true);
    expect(await runIds()).toContain(fortyDays);
    const { summary } = await run(new ManualClock(NOW), { history: { retentionDays: 30 } });
    expect(await runIds()).not.toContain(fortyDays);
    expect(summary.status).toBe('succeeded');
  });

  it('prunes at most once a day (app time zone): a run later the same day leaves old rows for tomorrow', async () => {
    await addRun('noop', 'failed', 100);
    const clock = new ManualClock(NOW);
    await run(clock);
    const lateOld = await addRun('noop', 'failed', 100);
    await run(new ManualClock(new Date(NOW.getTime() + 3_600_000)));
    expect(await runIds()).toContain(lateOld);
    const next = await run(new ManualClock(new Date(NOW.getTime() + DAY)));
    expect(await runIds()).not.toContain(lateOld);
    expect(next.logs).toContain('pruned 1 run(s)');
  });

  it('deletes in chunks until every old row is gone', async () => {
    for (let i = 0; i < 7; i++) await addRun('noop', 'failed', 100 + i);
    const keep = await addRun('noop', 'succeeded', 99);
    const pruned = await pruneRunHistory(t.db, { retentionDays: 90, now: NOW, timeZone: 'UTC', chunk: 3 });
    expect(pruned).toEqual({ ran: true, deleted: 7 });
    expect(await runIds()).toEqual([keep]);
  });

  it('a bad history.retentionDays is a usage error before the run', async () => {
    await expect(run(new ManualClock(NOW), { history: { retentionDays: 0 } })).rejects.toThrow(
      /history\.retentionDays/,
    );
  });
});
