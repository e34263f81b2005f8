import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connect.js';
import { runCli } from '../support/cli.js';
import { tempDir } from '../support/databases.js';
import { startFixture } from './support.js';

/** Every default entry off, so only the test's entries tick. */
const NO_DEFAULTS = {
  'aggregate-stats': false,
  'cleanup-cache': false,
  'backup-db': false,
  'cleanup-tokens': false,
  'warm-cache': false,
  'export-report': false,
};

interface Row {
  run_id: string;
  status: string;
  started_ms: number;
  finished_ms: number | null;
}

describe('webjobs schedule (foreground, node-cron) on SQLite', () => {
  let work: string;
  let url: string;
  const writeConfig = (name: string, schedule: Record<string, unknown>, dbUrl = url) => {
    const file = path.join(work, name);
    fs.writeFileSync(file, JSON.stringify({ timezone: 'UTC', database: { url: dbUrl }, schedule }));
    return file;
  };
  const runs = async (job = 'sleepy', dbUrl = url) => {
    const db = await openDatabase(dbUrl);
    try {
      return await db.query<Row>(
        'SELECT run_id, status, started_ms, finished_ms FROM webjobs_runs WHERE job = ? ORDER BY started_ms',
        [job],
      );
    } finally {
      await db.close();
    }
  };

  beforeAll(async () => {
    work = tempDir();
    url = `sqlite:${path.join(work, 'app.sqlite')}`;
    expect((await runCli(['init', '--db', url], { cwd: work })).code).toBe(0);
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('runs a per-second job, skips the ticks that overlap it, and on SIGTERM waits for the running job, then exits 0', async () => {
    const cfg = writeConfig('every-second.json', {
      jobs: {
        ...NO_DEFAULTS,
        sleepy: { cron: '* * * * * *', args: ['--ms', '2500'] },
        'not-built-yet': '*/2 * * * * *',
      },
    });
    const p = startFixture(['schedule', '--config', cfg], { cwd: work });
    try {
      await p.waitFor(/INFO {2}start: sleepy --ms 2500 \(scheduled, every second\)/, 60_000);
      await p.waitFor(
        /WARN {2}sleepy: scheduled tick skipped: its previous run \(started [\d-]+ [\d:]+\) is still going/,
      );
      await p.waitFor(/not-built-yet: no job of that name in this build of webjobs/);
      // Wait for a fresh run to be under way (one more than so far), then stop while it sleeps.
      const sleeping = (p.output().stderr.match(/sleepy sleeping 2500 ms/g) ?? []).length;
      await p.waitFor(new RegExp(`(sleepy sleeping 2500 ms[^]*){${sleeping + 1}}`));
      const startsBefore = (p.output().stderr.match(/start: sleepy/g) ?? []).length;
      p.child.kill('SIGTERM');
      const r = await p.done;
      expect(r.code, r.stderr).toBe(0);
      const after = r.stderr.slice(r.stderr.indexOf('SIGTERM received'));
      expect(after).toMatch(/SIGTERM received: taking no new runs; waiting up to 300 s for sleepy to finish/);
      expect(after).toMatch(/end: sleepy --ms 2500 succeeded in .* \(exit 0\)/);
      expect(after).toMatch(/schedule stopped/);
      expect((r.stderr.match(/start: sleepy/g) ?? []).length).toBe(startsBefore);
      const rows = await runs();
      expect(rows.length).toBeGreaterThanOrEqual(1);
      expect(rows.every((x) => x.status === 'succeeded')).toBe(true);
      // Never two at once: each run starts after the previous one ended.
      for (let i = 1; i < rows.length; i++)
        expect(Number(rows[i]?.started_ms)).toBeGreaterThanOrEqual(Number(rows[i - 1]?.finished_ms));
    } finally {
      p.child.kill('SIGKILL');
    }
  });

  it(
    'catches up, once at start, a run missed while it was down; a restart with the run recorded does not',
    { timeout: 180_000 },
    async () => {
      const t = new Date(Date.now() - 30 * 60_000);
      const cron = `${t.getUTCMinutes()} ${t.getUTCHours()} * * *`;
      // Its own database: the other tests' runs of sleepy would count as "ran since".
      const own = `sqlite:${path.join(work, 'catchup.sqlite')}`;
      expect((await runCli(['init', '--db', own], { cwd: work })).code).toBe(0);
      const cfg = writeConfig(
        'daily.json',
        { catchUpHours: 12, jobs: { ...NO_DEFAULTS, sleepy: { cron, args: ['--ms', '50'] } } },
        own,
      );
      const before = (await runs('sleepy', own)).length;
      expect(before).toBe(0);
      const first = startFixture(['schedule', '--config', cfg], { cwd: work });
      try {
        await first.waitFor(
          /WARN {2}catch-up: sleepy missed its run of [\d-]+ [\d:]+ \(no run recorded since\): running it now/,
          60_000,
        );
        await first.waitFor(/end: sleepy --ms 50 succeeded/);
        first.child.kill('SIGTERM');
        expect((await first.done).code).toBe(0);
      } finally {
        first.child.kill('SIGKILL');
      }
      expect((await runs('sleepy', own)).length).toBe(1);
      const second = startFixture(['schedule', '--config', cfg], { cwd: work });
      try {
        await second.waitFor(/catch-up: no scheduled run missed within the last 12 h/, 60_000);
        second.child.kill('SIGTERM');
        const r = await second.done;
        expect(r.code).toBe(0);
        expect(r.stderr).not.toMatch(/running it now/);
      } finally {
        second.child.kill('SIGKILL');
      }
      expect((await runs('sleepy', own)).length).toBe(1);
    },
  );

  it('a run missed longer ago than catchUpHours is reported, not run', { timeout: 120_000 }, async () => {
    const own = `sqlite:${path.join(work, 'late.sqlite')}`;
    expect((await runCli(['init', '--db', own], { cwd: work })).code).toBe(0);
    // One old run, so the job is known; its schedule's last time was 3 hours ago, beyond a 1-hour catch-up.
    const db = await openDatabase(own);
    await db.execute(
      "INSERT INTO webjobs_runs (run_id, job, arguments, status, attempts, started_at, started_ms, host, pid) VALUES ('old', 'sleepy', '{}', 'succeeded', 1, '2026-01-01 00:00:00', ?, 'h', 1)",
      [Date.now() - 30 * 86_400_000],
    );
    await db.close();
    const t = new Date(Date.now() - 3 * 3_600_000);
    const cfg = writeConfig(
      'late.json',
      {
        catchUpHours: 1,
        jobs: {
          ...NO_DEFAULTS,
          sleepy: { cron: `${t.getUTCMinutes()} ${t.getUTCHours()} * * *`, args: ['--ms', '10'] },
        },
      },
      own,
    );
    const p = startFixture(['schedule', '--config', cfg], { cwd: work });
    try {
      await p.waitFor(
        /WARN {2}sleepy missed its run of [\d-]+ [\d:]+, more than 1 h ago: not caught up \(schedule.catchUpHours\)/,
        60_000,
      );
      await p.waitFor(/catch-up: no scheduled run missed within the last 1 h/);
      p.child.kill('SIGTERM');
      const r = await p.done;
      expect(r.code).toBe(0);
      expect(r.stderr).not.toMatch(/start: sleepy/);
    } finally {
      p.child.kill('SIGKILL');
    }
  });

  it('a tick while another process (a cron-started run) holds the lock is skipped, naming the holder', async () => {
    const db = await openDatabase(url);
    const now = Date.now();
    await db.execute(
      'INSERT INTO webjobs_locks (name, owner, run_id, host, pid, acquired_at_ms, lease_until_ms) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ['sleepy', 'cron-run', null, 'app-server-2', 31337, now, now + 3_600_000],
    );
    await db.close();
    const cfg = writeConfig('locked.json', {
      jobs: { ...NO_DEFAULTS, sleepy: { cron: '*/2 * * * * *', args: ['--ms', '10'] } },
    });
    const p = startFixture(['schedule', '--config', cfg], { cwd: work });
    try {
      await p.waitFor(
        /end: sleepy --ms 10 skipped in .* \(exit 0\): another run holds the sleepy lock \(host app-server-2, pid 31337, since [\d-]+ [\d:]+, lease until [\d-]+ [\d:]+\)/,
        60_000,
      );
      p.child.kill('SIGTERM');
      expect((await p.done).code).toBe(0);
    } finally {
      p.child.kill('SIGKILL');
      const d = await openDatabase(url);
      await d.execute("DELETE FROM webjobs_locks WHERE name = 'sleepy'");
      await d.close();
    }
  });

  it(
    'runs a real registered job in-process through its command, recorded as scheduled',
    { timeout: 120_000 },
    async () => {
      const own = `sqlite:${path.join(work, 'real.sqlite')}`;
      expect((await runCli(['init', '--schema', '--db', own], { cwd: work })).code).toBe(0);
      const cfg = writeConfig('real.json', { jobs: { ...NO_DEFAULTS, 'cleanup-cache': '*/2 * * * * *' } }, own);
      const p = startFixture(['schedule', '--config', cfg], { cwd: work });
      try {
        await p.waitFor(/end: cleanup-cache succeeded in .* \(exit 0\)/, 60_000);
        p.child.kill('SIGTERM');
        expect((await p.done).code).toBe(0);
      } finally {
        p.child.kill('SIGKILL');
      }
      const db = await openDatabase(own);
      try {
        const rows = await db.query<{ status: string; arguments: string }>(
          "SELECT status, arguments FROM webjobs_runs WHERE job = 'cleanup-cache'",
        );
        expect(rows.length).toBeGreaterThanOrEqual(1);
        expect(rows[0]?.status).toBe('succeeded');
        expect(JSON.parse(rows[0]?.arguments ?? '{}')).toMatchObject({ scheduled: true, dryRun: false });
      } finally {
        await db.close();
      }
    },
  );

  it(
    'past shutdownGraceSeconds the running job is cancelled and recorded so; exit 1',
    { timeout: 120_000 },
    async () => {
      const own = `sqlite:${path.join(work, 'grace.sqlite')}`;
      expect((await runCli(['init', '--db', own], { cwd: work })).code).toBe(0);
      const cfg = writeConfig(
        'grace.json',
        {
          shutdownGraceSeconds: 1,
          jobs: { ...NO_DEFAULTS, sleepy: { cron: '* * * * * *', args: ['--ms', '120000'] } },
        },
        own,
      );
      const p = startFixture(['schedule', '--config', cfg], { cwd: work });
      try {
        await p.waitFor(/sleepy sleeping 120000 ms/, 60_000);
        p.child.kill('SIGTERM');
        const r = await p.done;
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/waiting up to 1 s for sleepy to finish/);
        expect(r.stderr).toMatch(/still running after 1 s: cancelling sleepy/);
        expect(r.stderr).toMatch(
          /end: sleepy --ms 120000 failed in .* \(exit 1\): cancelled: the scheduler is stopping/,
        );
      } finally {
        p.child.kill('SIGKILL');
      }
      expect((await runs('sleepy', own)).map((x) => x.status)).toEqual(['cancelled']);
    },
  );

  it('a bad expression stops it before it starts: exit 2 naming the job', async () => {
    const cfg = writeConfig('bad.json', { jobs: { ...NO_DEFAULTS, sleepy: '61 * * * *' } });
    const p = startFixture(['schedule', '--config', cfg], { cwd: work });
    const r = await p.done;
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/schedule for sleepy: "61 \* \* \* \*" minute 61 is outside 0-59/);
  });
});
