import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { ENGINES, tempDir, type TestDatabase } from '../support/databases.js';
import { demoDatabase } from '../support/fixtures.js';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp.js';

const SMTP_PASSWORD = 'smtp-Secret-77q';
const PING_TOKEN = 'ping-token-9f3e1c';

describe.each(ENGINES)('secrets never leak on $engine', ({ create, engine }) => {
  let t: TestDatabase;
  let work: string;
  let smtp: TestSmtpServer;
  beforeAll(async () => {
    t = await create();
    await demoDatabase(t.db, 1000);
    work = tempDir();
    smtp = await startSmtpServer({
      extra: {
        authOptional: true,
        onAuth: (_auth, _session, cb) => cb(null, { user: 'mailer' }),
        allowInsecureAuth: true,
      },
    });
  });
  afterAll(async () => {
    await smtp?.close();
    await t?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('no database password, SMTP credential or token in any log line, JSON summary, email or history row — on success and on failure', async () => {
    const secrets = [SMTP_PASSWORD, PING_TOKEN];
    if (engine === 'mariadb') secrets.push(new URL(t.url).password);
    const smtpUrl = smtp.url.replace('smtp://', `smtp://mailer:${SMTP_PASSWORD}@`);
    fs.writeFileSync(
      path.join(work, 'webjobs.config.json'),
      JSON.stringify({
        monitor: { pings: { 'backup-db': `http://127.0.0.1:9/${PING_TOKEN}` } },
        warm: { headers: { Authorization: `Bearer ${PING_TOKEN}` } },
      }),
    );
    const env = { DATABASE_URL: t.url, SMTP_URL: smtpUrl, WEBJOBS_ADMINS: 'ops@example.test' };
    const ok = await runCli(['backup-db', '--json', '--verbose', '--out', path.join(work, 'b')], { cwd: work, env });
    expect(ok.code).toBe(0);
    // A failure quotes the database and the error: still no secret.
    const failed = await runCli(['backup-db', '--json', '--verbose', '--out', path.join(work, 'b')], {
      cwd: work,
      env: {
        ...env,
        DATABASE_URL:
          engine === 'mariadb'
            ? t.url.replace(/\/[^/]+$/, '/no_such_db')
            : `sqlite:${path.join(work, 'missing-dir', 'x', 'app.sqlite')}`,
      },
    });
    expect(failed.code).toBe(1);
    const history = await t.db.query('SELECT * FROM webjobs_runs');
    expect(history.length).toBeGreaterThan(0);
    expect(smtp.received.length).toBeGreaterThanOrEqual(1);
    const everything = [
      ok.stdout,
      ok.stderr,
      failed.stdout,
      failed.stderr,
      JSON.stringify(history),
      ...smtp.received.map((m) => m.raw),
    ].join('\n');
    for (const secret of secrets) expect(everything).not.toContain(secret);
  });
});

describe.each(ENGINES)('load on $engine: 20 concurrent runs of a job', ({ create }) => {
  let t: TestDatabase;
  let work: string;
  beforeAll(async () => {
    t = await create();
    await demoDatabase(t.db, 3000);
    // A backup long enough (seconds) that all 20 processes start while the first one holds the lock.
    for (let i = 0; i < 8; i++)
      await t.db.execute(
        'INSERT INTO api_requests (widget_id, platform, status_code, response_time_ms, cache_hit, created_at) SELECT widget_id, platform, status_code, response_time_ms, cache_hit, created_at FROM api_requests',
      );
    work = tempDir();
  }, 120_000);
  afterAll(async () => {
    await t?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('backup-db: exactly one runs, the others skip, no deadlock, no error', async () => {
    const out = path.join(work, 'load');
    const runs = await Promise.all(
      Array.from({ length: 20 }, () =>
        runCli(['backup-db', '--type', 'full', '--level', '9', '--json', '--out', out], {
          cwd: work,
          env: { DATABASE_URL: t.url },
          timeoutMs: 110_000,
        }),
      ),
    );
    expect(runs.filter((r) => r.code !== 0).map((r) => r.stderr)).toEqual([]);
    const statuses = runs.map((r) => JSON.parse(r.stdout).status as string);
    expect(statuses.filter((s) => s === 'succeeded')).toHaveLength(1);
    expect(statuses.filter((s) => s === 'skipped')).toHaveLength(19);
    for (const r of runs) expect(r.stderr).not.toMatch(/ ERROR |deadlock/);
    expect(fs.readdirSync(out).filter((n) => n.endsWith('.sql.gz'))).toHaveLength(1);
    expect(fs.readdirSync(out).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  }, 120_000);
});

describe.each(ENGINES)('load on $engine: 20 concurrent runs of every other job', ({ create }) => {
  let t: TestDatabase;
  let work: string;
  let server: http.Server;
  beforeAll(async () => {
    t = await create();
    await demoDatabase(t.db, 3000);
    work = tempDir();
    server = http.createServer((_req, res) => setTimeout(() => res.end('ok'), 20));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    fs.writeFileSync(
      path.join(work, 'webjobs.config.json'),
      JSON.stringify({
        warm: { urlTemplate: `http://127.0.0.1:${port}/widgets/{id}` },
        report: { dir: path.join(work, 'reports') },
      }),
    );
  }, 120_000);
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await t?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it.each([
    ['aggregate-stats', ['--from', '2026-10-20', '--to', '2026-11-24', '--no-websites']],
    ['cleanup-cache', []],
    ['warm-cache', ['--force']],
    ['export-report', ['--no-email']],
    ['cleanup-tokens', []],
  ])(
    '%s: never two at once, the others skip, no deadlock, no error',
    async (job, args) => {
      const runs = await Promise.all(
        Array.from({ length: 20 }, () =>
          runCli([job, ...(args as string[]), '--json'], {
            cwd: work,
            env: { DATABASE_URL: t.url },
            timeoutMs: 110_000,
          }),
        ),
      );
      for (const r of runs) expect(r.stderr).not.toMatch(/ ERROR |deadlock/);
      expect(runs.map((r) => r.code)).toEqual(Array(20).fill(0));
      const statuses = runs.map((r) => JSON.parse(r.stdout).status as string);
      expect(statuses.every((st) => st === 'succeeded' || st === 'skipped')).toBe(true);
      expect(statuses.filter((st) => st === 'skipped').length).toBeGreaterThan(0);
      // Every run that did work held the lock alone: its history interval overlaps no other's.
      const done = await t.db.query<{ started_ms: number; finished_ms: number }>(
        'SELECT started_ms, finished_ms FROM webjobs_runs WHERE job = ? AND status = ? ORDER BY started_ms',
        [job, 'succeeded'],
      );
      expect(done.length).toBe(statuses.filter((st) => st === 'succeeded').length);
      for (let i = 1; i < done.length; i++)
        expect(Number(done[i]!.started_ms)).toBeGreaterThanOrEqual(Number(done[i - 1]!.finished_ms));
    },
    120_000,
  );
});
