import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ENGINES, tempDir, type TestDatabase } from '../support/databases.js';
import { runCli, startCli, type CliResult } from '../support/cli.js';
import { demoDatabase } from '../support/fixtures.js';

function finalBackups(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => /^backup_.*\.sql\.gz$/.test(n)) : [];
}

describe.each(ENGINES)('SIGKILL on $engine', ({ create }) => {
  let t: TestDatabase;
  let work: string;
  beforeAll(async () => {
    t = await create();
    await demoDatabase(t.db, 60_000);
    work = tempDir();
  }, 300_000);
  afterAll(async () => {
    await t?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('SIGKILL mid-write leaves no file under a final name; the next run takes the lock over, marks the killed run abandoned, and succeeds', async () => {
    const out = path.join(work, 'killed');
    const run = startCli(['backup-db', '--type', 'full', '--level', '9', '--out', out], {
      cwd: work,
      env: { DATABASE_URL: t.url },
    });
    // Wait until the temporary file exists and is growing, then kill without warning.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const temps = fs.existsSync(out) ? fs.readdirSync(out).filter((n) => n.endsWith('.tmp')) : [];
      if (temps.length && fs.statSync(path.join(out, temps[0] as string)).size > 0) break;
      if (Date.now() > deadline) throw new Error(`no temporary file appeared: ${run.output().stderr}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    run.child.kill('SIGKILL');
    const killed = await run.done;
    expect(killed.signal).toBe('SIGKILL');
    expect(finalBackups(out)).toEqual([]);
    const lock = await t.db.queryOne<{ pid: number }>("SELECT pid FROM webjobs_locks WHERE name = 'backup-db'");
    expect(Number(lock?.pid)).toBe(run.child.pid);

    const next = await runCli(['backup-db', '--type', 'full', '--json', '--out', out], {
      cwd: work,
      env: { DATABASE_URL: t.url },
    });
    expect(next.code).toBe(0);
    expect(JSON.parse(next.stdout).status).toBe('succeeded');
    expect(next.stderr).toMatch(/took over the backup-db lock left by pid \d+/);
    expect(finalBackups(out)).toHaveLength(1);
    expect(fs.readdirSync(out).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    const statuses = await t.db.query<{ status: string }>(
      "SELECT status FROM webjobs_runs WHERE job = 'backup-db' ORDER BY started_ms",
    );
    expect(statuses.map((s) => s.status)).toEqual(['abandoned', 'succeeded']);
  });
});

const NOW = '2026-11-25T03:00:00Z';

async function killWhen(run: ReturnType<typeof startCli>, pattern: RegExp, delayMs = 0): Promise<CliResult> {
  const deadline = Date.now() + 60_000;
  while (!pattern.test(run.output().stderr)) {
    if (Date.now() > deadline) throw new Error(`never saw ${pattern}: ${run.output().stderr}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
  run.child.kill('SIGKILL');
  return run.done;
}

describe.each(ENGINES)('SIGKILL of the purging jobs on $engine', ({ create }) => {
  let t: TestDatabase;
  let work: string;
  let requestsPerDay: Map<string, number>;
  const perDay = async () =>
    new Map(
      (
        await t.db.query<{ d: string; n: number }>(
          `SELECT ${t.engine === 'sqlite' ? 'substr(created_at, 1, 10)' : 'DATE_FORMAT(created_at, "%Y-%m-%d")'} AS d, COUNT(*) AS n FROM api_requests GROUP BY d`,
        )
      ).map((r) => [String(r.d), Number(r.n)]),
    );
  // A fresh database for each case: a purge that already ran would leave the next case nothing to cut.
  beforeEach(async () => {
    t = await create();
    await demoDatabase(t.db, 20_000);
    requestsPerDay = await perDay();
    work = tempDir();
  }, 300_000);
  afterEach(async () => {
    await t?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });
  const env = () => ({ DATABASE_URL: t.url, WEBJOBS_NOW: NOW });
  const aggregateArgs = [
    'aggregate-stats',
    '--from',
    '2026-10-10',
    '--to',
    '2026-11-24',
    '--retention-days',
    '5',
    '--chunk',
    '50',
    '--sleep',
    '100',
    '--no-websites',
  ];

  /** The promise: a day's detail rows are only ever deleted once its complete summary is committed. */
  async function expectNoDetailLostWithoutSummary() {
    const now = await perDay();
    const summaries = new Map(
      (
        await t.db.query<{ date: unknown; total_requests: number }>(
          'SELECT date, total_requests FROM api_statistics_summary',
        )
      ).map((r) => [String(r.date).slice(0, 10), Number(r.total_requests)]),
    );
    for (const [day, original] of requestsPerDay) {
      if ((now.get(day) ?? 0) < original) expect(summaries.get(day), `day ${day} lost detail rows`).toBe(original);
    }
  }

  it.each([
    ['between the roll-up and the purge', /rolled up \d+ request rows/, 0],
    ['in the middle of the chunked purge', /deleting api_requests rows of/, 300],
  ])(
    'aggregate-stats killed %s: no detail row deleted whose summary is missing; the next run takes over and finishes',
    async (_when, pattern, delay) => {
      const killed = await killWhen(
        startCli(aggregateArgs, { cwd: work, env: env() }),
        pattern as RegExp,
        delay as number,
      );
      expect(killed.signal).toBe('SIGKILL');
      await expectNoDetailLostWithoutSummary();
      const next = await runCli([...aggregateArgs.filter((a) => a !== '--sleep' && a !== '100'), '--json'], {
        cwd: work,
        env: env(),
      });
      expect(next.code).toBe(0);
      expect(next.stderr).toMatch(/took over the aggregate-stats lock/);
      await expectNoDetailLostWithoutSummary();
      // (Each process's test clock starts at the same moment, so compare statuses, not times.)
      const runs = await t.db.query<{ status: string }>(
        "SELECT status FROM webjobs_runs WHERE job = 'aggregate-stats'",
      );
      expect(runs.filter((r) => r.status === 'abandoned').length).toBe(
        runs.filter((r) => r.status === 'succeeded').length,
      );
    },
  );

  it('cleanup-cache killed mid-purge: only expired rows are gone; the next run takes over and deletes the rest', async () => {
    const expiredBefore = "'2026-11-25 03:00:00'";
    const live = Number(
      (await t.db.queryOne<{ n: number }>(`SELECT COUNT(*) AS n FROM cache WHERE expires_at >= ${expiredBefore}`))?.n,
    );
    // Enough expired rows that the purge is still going when it is killed.
    const key = t.db.quote('key');
    for (let i = 0; i < 5; i++) {
      const newKey = t.engine === 'sqlite' ? `'k${i}:' || ${key}` : `CONCAT('k${i}:', ${key})`;
      await t.db.execute(
        `INSERT INTO cache (${key}, value, expires_at) SELECT ${newKey}, value, '2026-11-01 00:00:00' FROM cache WHERE expires_at < ${expiredBefore} AND ${key} NOT LIKE 'k%'`,
      );
    }
    const killed = await killWhen(
      startCli(['cleanup-cache', '--chunk', '20', '--sleep', '20'], { cwd: work, env: env() }),
      // Killed once the purge is under way (the lock is held by then), however slowly the run started.
      /deleting expired rows/,
      300,
    );
    expect(killed.signal).toBe('SIGKILL');
    const liveAfterKill = Number(
      (await t.db.queryOne<{ n: number }>(`SELECT COUNT(*) AS n FROM cache WHERE expires_at >= ${expiredBefore}`))?.n,
    );
    expect(liveAfterKill).toBe(live);
    expect(
      Number(
        (await t.db.queryOne<{ n: number }>(`SELECT COUNT(*) AS n FROM cache WHERE expires_at < ${expiredBefore}`))?.n,
      ),
    ).toBeGreaterThan(0);
    const next = await runCli(['cleanup-cache', '--json'], { cwd: work, env: env() });
    expect(next.code).toBe(0);
    expect(next.stderr).toMatch(/took over the cleanup-cache lock/);
    expect(
      Number(
        (await t.db.queryOne<{ n: number }>(`SELECT COUNT(*) AS n FROM cache WHERE expires_at < ${expiredBefore}`))?.n,
      ),
    ).toBe(0);
    expect(
      Number(
        (await t.db.queryOne<{ n: number }>(`SELECT COUNT(*) AS n FROM cache WHERE expires_at >= ${expiredBefore}`))?.n,
      ),
    ).toBe(live);
  });

  it('export-report killed at any moment of its run leaves no report under a final name that is incomplete', async () => {
    const dir = path.join(work, 'reports');
    const args = ['export-report', '--period', 'monthly', '--no-email', '--config', path.join(work, 'report.json')];
    fs.writeFileSync(path.join(work, 'report.json'), JSON.stringify({ report: { dir } }));
    const complete = await runCli([...args, '--json'], { cwd: work, env: env() });
    expect(complete.code).toBe(0);
    const reference = fs.readFileSync(JSON.parse(complete.stdout).result.file);
    fs.rmSync(dir, { recursive: true, force: true });
    for (const delay of [150, 300, 450, 600, 750, 900]) {
      const run = startCli(args, { cwd: work, env: env() });
      await new Promise((r) => setTimeout(r, delay));
      run.child.kill('SIGKILL');
      await run.done;
      const finals = fs.existsSync(dir)
        ? fs
            .readdirSync(dir, { recursive: true })
            .map(String)
            .filter((n) => n.endsWith('.csv'))
        : [];
      for (const f of finals) expect(fs.readFileSync(path.join(dir, f)).equals(reference)).toBe(true);
      await t.db.execute("DELETE FROM webjobs_locks WHERE name = 'export-report'");
    }
  });
});
