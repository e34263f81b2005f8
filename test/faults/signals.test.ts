import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli } from '../support/cli.js';
import { ENGINES, tempDir, type TestDatabase } from '../support/databases.js';
import { demoDatabase } from '../support/fixtures.js';

async function waitFor(predicate: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const COPY_REQUESTS =
  'INSERT INTO api_requests (widget_id, platform, status_code, response_time_ms, cache_hit, created_at) SELECT widget_id, platform, status_code, response_time_ms, cache_hit, created_at FROM api_requests';

describe.each(ENGINES)('SIGTERM during a run on $engine', ({ create }) => {
  let t: TestDatabase;
  let work: string;
  beforeAll(async () => {
    t = await create();
    await demoDatabase(t.db, 5000);
    for (let i = 0; i < 7; i++) await t.db.execute(COPY_REQUESTS);
    work = tempDir();
  }, 120_000);
  afterAll(async () => {
    await t?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('backup-db stops within 5 s: temporary file removed, lock released, history says cancelled', async () => {
    const out = path.join(work, 'term');
    const run = startCli(['backup-db', '--type', 'full', '--level', '9', '--out', out, '--json'], {
      cwd: work,
      env: { DATABASE_URL: t.url },
    });
    await waitFor(() => fs.existsSync(out) && fs.readdirSync(out).some((n) => n.endsWith('.tmp')), 60_000);
    const t0 = Date.now();
    run.child.kill('SIGTERM');
    const r = await run.done;
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/SIGTERM received/);
    expect(JSON.parse(r.stdout).status).toBe('failed');
    expect(fs.readdirSync(out)).toEqual([]);
    expect(await t.db.query("SELECT name FROM webjobs_locks WHERE name = 'backup-db'")).toEqual([]);
    const runs = await t.db.query<{ status: string }>("SELECT status FROM webjobs_runs WHERE job = 'backup-db'");
    expect(runs.map((x) => x.status)).toEqual(['cancelled']);
  });
});
