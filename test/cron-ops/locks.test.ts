import fs from 'node:fs';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, tempDir, type TestDatabase } from '../support/databases.js';
import { runCli } from '../support/cli.js';
import { runFixture, startFixture } from './support.js';

describe.each(ENGINES)('one run across processes and servers, pause, unlock on $engine', ({ create }) => {
  let t: TestDatabase;
  let work: string;
  const env = () => ({ DATABASE_URL: t.url });
  beforeAll(async () => {
    t = await create();
    work = tempDir();
    expect((await runCli(['init'], { cwd: work, env: env() })).code).toBe(0);
  });
  afterAll(async () => {
    await t?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it(
    'two processes started at the same moment: exactly one runs the job, the other exits 0 as skipped',
    { timeout: 120_000 },
    async () => {
      const a = startFixture(['sleepy', '--ms', '6000', '--json'], { cwd: work, env: env() });
      const b = startFixture(['sleepy', '--ms', '6000', '--json'], { cwd: work, env: env() });
      const [ra, rb] = await Promise.all([a.done, b.done]);
      expect(ra.code, ra.stderr).toBe(0);
      expect(rb.code, rb.stderr).toBe(0);
      const statuses = [JSON.parse(ra.stdout).status, JSON.parse(rb.stdout).status].sort();
      expect(statuses).toEqual(['skipped', 'succeeded']);
      const skipped = [ra, rb].find((r) => JSON.parse(r.stdout).status === 'skipped');
      expect(skipped?.stderr).toMatch(
        new RegExp(
          `skipped: another run holds the sleepy lock \\(host ${os.hostname()}, pid \\d+, since [\\d-]+ [\\d:]+, lease until [\\d-]+ [\\d:]+\\)`,
        ),
      );
      const rows = await t.db.query<{ status: string }>(
        "SELECT status FROM webjobs_runs WHERE job = 'sleepy' ORDER BY status",
      );
      expect(rows.map((r) => r.status)).toEqual(['skipped', 'succeeded']);
      expect(await t.db.query('SELECT name FROM webjobs_locks')).toEqual([]);
    },
  );

  it(
    'pause: runs exit 0 as skipped with the reason; --force runs anyway; resume lifts it; pause of every job too',
    { timeout: 120_000 },
    async () => {
      const p = await runCli(['pause', 'backup-db', '--note', 'disk swap'], { cwd: work, env: env() });
      expect(p.code, p.stderr).toBe(0);
      const paused = await runCli(['backup-db', '--json'], { cwd: work, env: env() });
      expect(paused.code).toBe(0);
      const s = JSON.parse(paused.stdout);
      expect(s).toMatchObject({ status: 'skipped', result: { paused: true } });
      expect(s.reason).toMatch(
        /^backup-db is paused \(since [\d-]+ [\d:]+ by .*: disk swap\); run it by hand with --force, or: webjobs resume backup-db$/,
      );
      expect(paused.stderr).toMatch(/skipped: backup-db is paused/);
      const row = await t.db.queryOne<{ status: string; error: string }>(
        "SELECT status, error FROM webjobs_runs WHERE job = 'backup-db' ORDER BY id DESC LIMIT 1",
      );
      expect(row).toMatchObject({ status: 'skipped', error: s.reason });
      // --force: the run goes ahead (and fails here on its own merits: the test database has no tables).
      const forced = await runCli(['backup-db', '--force', '--json'], { cwd: work, env: env() });
      expect(JSON.parse(forced.stdout).status).toBe('failed');
      expect(JSON.parse(forced.stdout).error).toMatch(/none of the \d+ critical tables exists/);
      expect((await runCli(['resume', 'backup-db'], { cwd: work, env: env() })).code).toBe(0);
      expect(JSON.parse((await runCli(['backup-db', '--json'], { cwd: work, env: env() })).stdout).status).toBe(
        'failed',
      );

      expect((await runCli(['pause'], { cwd: work, env: env() })).code).toBe(0);
      const all = await runFixture(['sleepy', '--ms', '10', '--json'], { cwd: work, env: env() });
      expect(JSON.parse(all.stdout).reason).toMatch(/^every job is paused/);
      const forcedSleepy = await runFixture(['sleepy', '--ms', '10', '--json', '--force'], { cwd: work, env: env() });
      expect(JSON.parse(forcedSleepy.stdout).status).toBe('succeeded');
      expect((await runCli(['resume'], { cwd: work, env: env() })).code).toBe(0);
      expect(
        JSON.parse((await runFixture(['sleepy', '--ms', '10', '--json'], { cwd: work, env: env() })).stdout).status,
      ).toBe('succeeded');
      expect((await runCli(['pause', 'no-such-job'], { cwd: work, env: env() })).code).toBe(2);
    },
  );

  it(
    'unlock refuses while the holder is alive on this host unless --force; clears a dead holder',
    { timeout: 120_000 },
    async () => {
      const holder = startFixture(['sleepy', '--ms', '60000'], { cwd: work, env: env() });
      try {
        await holder.waitFor(/sleepy sleeping 60000 ms \(pid (\d+)\)/, 60_000);
        const refused = await runCli(['unlock', 'sleepy'], { cwd: work, env: env() });
        expect(refused.code).toBe(1);
        expect(refused.stderr).toMatch(
          new RegExp(
            `held by a live process \\(host ${os.hostname()}, pid ${holder.child.pid}, since .*\\): not clearing it`,
          ),
        );
        const forced = await runCli(['unlock', 'sleepy', '--force', '--json'], { cwd: work, env: env() });
        expect(forced.code).toBe(0);
        expect(JSON.parse(forced.stdout)).toMatchObject({ unlocked: true, holder: { pid: holder.child.pid } });
        expect(await t.db.query("SELECT name FROM webjobs_locks WHERE name = 'sleepy'")).toEqual([]);
      } finally {
        holder.child.kill('SIGKILL');
        await holder.done;
      }
      // A lock left by a process that is gone: cleared without --force, its run marked abandoned.
      const now = Date.now();
      await t.db.execute(
        "INSERT INTO webjobs_runs (run_id, job, arguments, status, attempts, started_at, started_ms, host, pid) VALUES ('dead-run', 'sleepy', '{}', 'running', 1, '2026-11-25 03:00:00', ?, ?, 999999)",
        [now, os.hostname()],
      );
      await t.db.execute(
        'INSERT INTO webjobs_locks (name, owner, run_id, host, pid, acquired_at_ms, lease_until_ms) VALUES (?, ?, ?, ?, ?, ?, ?)',
        ['sleepy', 'dead', 'dead-run', os.hostname(), 999999, now, now + 3_600_000],
      );
      const cleared = await runCli(['unlock', 'sleepy'], { cwd: work, env: env() });
      expect(cleared.code, cleared.stderr).toBe(0);
      expect(cleared.stderr).toMatch(/cleared the sleepy lock \(host .*, pid 999999/);
      expect(await t.db.queryOne("SELECT status FROM webjobs_runs WHERE run_id = 'dead-run'")).toEqual({
        status: 'abandoned',
      });
      // Another host's live lease cannot be checked from here: refused without --force.
      await t.db.execute(
        'INSERT INTO webjobs_locks (name, owner, run_id, host, pid, acquired_at_ms, lease_until_ms) VALUES (?, ?, ?, ?, ?, ?, ?)',
        ['sleepy', 'other', null, 'app-server-9', 12, now, now + 3_600_000],
      );
      const remote = await runCli(['unlock', 'sleepy'], { cwd: work, env: env() });
      expect(remote.code).toBe(1);
      expect(remote.stderr).toMatch(/held by another host with a live lease \(host app-server-9/);
      expect((await runCli(['unlock', 'sleepy', '--force'], { cwd: work, env: env() })).code).toBe(0);
      expect((await runCli(['unlock', 'sleepy'], { cwd: work, env: env() })).stderr).toMatch(/sleepy is not locked/);
    },
  );

  it(
    'a paused run and a locked-out run are written to the history alike: a finished skipped row saying why',
    { timeout: 120_000 },
    async () => {
      const lastRow = () =>
        t.db.queryOne<Record<string, unknown>>(
          "SELECT status, attempts, arguments, result, error, finished_at, finished_ms, duration_ms FROM webjobs_runs WHERE job = 'backup-db' ORDER BY id DESC LIMIT 1",
        );
      expect((await runCli(['pause', 'backup-db'], { cwd: work, env: env() })).code).toBe(0);
      const paused = await runCli(['backup-db', '--json'], { cwd: work, env: env() });
      const pausedRow = await lastRow();
      expect((await runCli(['resume', 'backup-db'], { cwd: work, env: env() })).code).toBe(0);
      // This test process holds the lock: alive on this host, lease an hour ahead.
      const now = Date.now();
      await t.db.execute(
        'INSERT INTO webjobs_locks (name, owner, run_id, host, pid, acquired_at_ms, lease_until_ms) VALUES (?, ?, ?, ?, ?, ?, ?)',
        ['backup-db', 'test', null, os.hostname(), process.pid, now, now + 3_600_000],
      );
      try {
        const locked = await runCli(['backup-db', '--json'], { cwd: work, env: env() });
        const lockedRow = await lastRow();
        for (const [run, row, extra] of [
          [paused, pausedRow, { paused: true }],
          [locked, lockedRow, { holder: { host: os.hostname(), pid: process.pid } }],
        ] as const) {
          expect(run.code, run.stderr).toBe(0);
          const reason = JSON.parse(run.stdout).reason as string;
          expect(row).toMatchObject({ status: 'skipped', error: reason });
          expect(Number(row?.attempts)).toBe(0);
          expect(JSON.parse(String(row?.result))).toEqual({ skipped: true, reason, ...extra });
          expect(JSON.parse(String(row?.arguments))).toMatchObject({ dryRun: false });
          for (const column of ['finished_at', 'finished_ms', 'duration_ms']) expect(row?.[column]).not.toBeNull();
        }
      } finally {
        await t.db.execute("DELETE FROM webjobs_locks WHERE name = 'backup-db'");
      }
    },
  );
});
