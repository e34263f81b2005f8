import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunHistory } from '../../src/runner/history.js';
import { migrate } from '../../src/db/migrate.js';
import { ENGINES, tempDir, type TestDatabase } from '../support/databases.js';
import { runCli } from '../support/cli.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe.each(ENGINES)('status and history from recorded runs on $engine', ({ create }) => {
  let t: TestDatabase;
  let work: string;
  const cli = (args: string[]) => runCli(args, { cwd: work, env: { DATABASE_URL: t.url } });

  /** Records a finished run as the runner does, `agoMs` before now. */
  async function record(
    job: string,
    status: 'succeeded' | 'failed' | 'skipped',
    agoMs: number,
    opts: { durationMs?: number; error?: string; host?: string } = {},
  ) {
    const h = new RunHistory(t.db, 'UTC');
    const runId = `${job}-${status}-${agoMs}`;
    const startedAt = new Date(Date.now() - agoMs);
    await h.start({ runId, job, arguments: '{}', startedAt });
    const duration = opts.durationMs ?? 1500;
    await h.finish(runId, {
      status,
      attempts: 1,
      finishedAt: new Date(startedAt.getTime() + duration),
      durationMs: duration,
      result: { ok: status === 'succeeded' },
      error: opts.error,
    });
    if (opts.host) await t.db.execute('UPDATE webjobs_runs SET host = ? WHERE run_id = ?', [opts.host, runId]);
    return runId;
  }

  beforeAll(async () => {
    t = await create();
    work = tempDir();
    await migrate(t.db);
    // backup-db (daily): last success 3 days ago, a failure an hour ago → stale.
    await record('backup-db', 'succeeded', 3 * DAY, { durationMs: 65_000, host: 'app-1' });
    await record('backup-db', 'failed', HOUR, { error: 'disk full' });
    await record('backup-db', 'skipped', HOUR - 1000, { error: 'another run holds the lock' });
    // cleanup-cache (daily): fine.
    await record('cleanup-cache', 'succeeded', 2 * HOUR, { durationMs: 4200 });
    // export-report (weekly): 10 days ago is within twice a week.
    await record('export-report', 'succeeded', 10 * DAY);
    // aggregate-stats: only failures since 3 days → stale, never succeeded.
    await record('aggregate-stats', 'failed', 3 * DAY, { error: 'boom' });
    await record('aggregate-stats', 'failed', 2 * DAY, { error: 'boom again' });
    // cleanup-tokens's lock is held by another server right now.
    const now = Date.now();
    await t.db.execute(
      'INSERT INTO webjobs_locks (name, owner, run_id, host, pid, acquired_at_ms, lease_until_ms) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ['cleanup-tokens', 'o', null, 'app-2', 4242, now - 5000, now + 55_000],
    );
    // Circuits written by warm-cache (its table, created by migrate with the others; read only by status).
    await t.db.execute(
      "INSERT INTO webjobs_circuits (platform, state, trial_leases, updated_at_ms) VALUES ('booking', 'open', '[]', 0), ('expedia', 'closed', '[]', 0), ('airbnb', 'half_open', '[]', 0), ('agoda', 'closed', '[]', 0)",
    );
    expect((await cli(['pause', 'warm-cache', '--note', 'API quota'])).code).toBe(0);
  });
  afterAll(async () => {
    await t?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('status --json: schedule, next run, last run, last success, lock holder, paused, circuits; stale jobs flagged, exit 1', async () => {
    const r = await cli(['status', '--json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    const job = (name: string) => report.jobs.find((j: { job: string }) => j.job === name);
    expect(report.stale.sort()).toEqual(['aggregate-stats', 'backup-db']);
    expect(job('backup-db')).toMatchObject({
      args: ['--type', 'critical'],
      schedule: 'every day at 03:00',
      cron: '0 3 * * *',
      intervalSeconds: 86400,
      lastRun: { status: 'failed', error: 'disk full' },
      lastSuccess: { host: 'app-1' },
      lock: null,
      paused: null,
    });
    expect(job('backup-db').nextRun).toMatch(/^\d{4}-\d\d-\d\d 03:00:00$/);
    expect(job('backup-db').stale).toMatch(/no success for 2 d 23 h \(more than twice its interval of 1 d\)/);
    expect(job('aggregate-stats').stale).toMatch(/never succeeded since its first run on/);
    expect(job('cleanup-cache')).toMatchObject({ stale: null, lastRun: { status: 'succeeded', durationMs: 4200 } });
    expect(job('export-report')).toMatchObject({
      stale: null,
      schedule: 'every Monday at 08:00',
      intervalSeconds: 7 * 86400,
    });
    expect(job('cleanup-tokens')).toMatchObject({
      lastRun: null,
      stale: null,
      lock: { host: 'app-2', pid: 4242, stale: false },
    });
    expect(job('warm-cache').paused).toMatch(/API quota/);
    expect(report.circuits).toEqual({ total: 4, closed: 2, open: 1, halfOpen: 1, open_platforms: ['booking'] });
  });

  it('status in words for people', async () => {
    const r = await cli(['status']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^backup-db --type critical {3}!! STALE$/m);
    expect(r.stdout).toMatch(/^ {2}last run: {5}failed at [\d-]+ [\d:]+, took 1\.50 s on .* — disk full$/m);
    expect(r.stdout).toMatch(/^ {2}lock: {9}held by app-2 pid 4242 since [\d-]+ [\d:]+, lease until [\d-]+ [\d:]+$/m);
    expect(r.stdout).toMatch(/^warm-cache {3}\(paused\)$/m);
    expect(r.stdout).toMatch(/^circuits: 4 platform\(s\): 2 closed, 1 open \(booking\), 1 half-open$/m);
    expect(r.stderr).toMatch(/stale: aggregate-stats, backup-db/);
  });

  it('history: newest first, by job, --failed, --limit, --json', async () => {
    const all = JSON.parse((await cli(['history', '--json'])).stdout) as Array<{
      job: string;
      status: string;
      startedMs: number;
      result: unknown;
    }>;
    expect(all).toHaveLength(7);
    expect(all.map((r) => r.startedMs)).toEqual([...all.map((r) => r.startedMs)].sort((a, b) => b - a));
    expect(all.find((r) => r.job === 'cleanup-cache')?.result).toEqual({ ok: true });
    const failed = JSON.parse((await cli(['history', 'backup-db', '--failed', '--json'])).stdout) as Array<{
      job: string;
      status: string;
      error: string;
    }>;
    expect(failed).toEqual([expect.objectContaining({ job: 'backup-db', status: 'failed', error: 'disk full' })]);
    const one = JSON.parse((await cli(['history', '--limit', '1', '--json'])).stdout) as unknown[];
    expect(one).toHaveLength(1);
    const text = await cli(['history', 'aggregate-stats']);
    expect(text.code).toBe(0);
    expect(text.stdout.trim().split('\n')).toHaveLength(2);
    expect(text.stdout).toMatch(/aggregate-stats +failed +1\.50 s .* boom again/);
    expect((await cli(['history', '--limit', '0'])).code).toBe(2);
  });
});

describe.each(ENGINES)('status before warm-cache ever ran, on $engine', ({ create }) => {
  let t: TestDatabase;
  let work: string;
  beforeAll(async () => {
    t = await create();
    work = tempDir();
  });
  afterAll(async () => {
    await t?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('says "none recorded" for circuits, as before webjobs_circuits was made with the other tables', async () => {
    const env = { DATABASE_URL: t.url };
    expect((await runCli(['init'], { cwd: work, env })).code).toBe(0);
    expect(await t.db.tableExists('webjobs_circuits')).toBe(true);
    const json = await runCli(['status', '--json'], { cwd: work, env });
    expect((JSON.parse(json.stdout) as { circuits: unknown }).circuits).toBeNull();
    expect((await runCli(['status'], { cwd: work, env })).stdout).toMatch(/^circuits: none recorded$/m);
  });
});
