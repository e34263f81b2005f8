import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, tempDir, type TestDatabase } from '../support/databases.js';
import { runCli, startCli } from '../support/cli.js';
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
    const run = startCli(['backup-db', '--type', 'full', '--level', '9', '--out', out], { cwd: work, env: { DATABASE_URL: t.url } });
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

    const next = await runCli(['backup-db', '--type', 'full', '--json', '--out', out], { cwd: work, env: { DATABASE_URL: t.url } });
    expect(next.code).toBe(0);
    expect(JSON.parse(next.stdout).status).toBe('succeeded');
    expect(next.stderr).toMatch(/took over the backup-db lock left by pid \d+/);
    expect(finalBackups(out)).toHaveLength(1);
    expect(fs.readdirSync(out).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    const statuses = await t.db.query<{ status: string }>("SELECT status FROM webjobs_runs WHERE job = 'backup-db' ORDER BY started_ms");
    expect(statuses.map((s) => s.status)).toEqual(['abandoned', 'succeeded']);
  });
});

