import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connect.js';
import { createReferenceSchema } from '../../src/db/schema.js';
import { runCli, startCli } from '../support/cli.js';
import { tempDir } from '../support/databases.js';
import { demoDatabase } from '../support/fixtures.js';
import { startMariaDb, type PrivateMariaDb } from '../support/mariadb-server.js';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp.js';

const FAST_RETRIES = {
  retry: { tries: 3, backoffSeconds: [0.2, 0.4] },
  warm: { urlTemplate: 'http://127.0.0.1:9/widgets/{id}' },
};

const EVERY_JOB: [string, string[]][] = [
  ['aggregate-stats', []],
  ['cleanup-cache', []],
  ['warm-cache', ['--force']],
  ['export-report', ['--no-email']],
  ['cleanup-tokens', []],
];

function leftovers(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
}

async function waitFor(predicate: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the MariaDB server goes away', () => {
  let server: PrivateMariaDb;
  let work: string;
  let smtp: TestSmtpServer;
  beforeAll(async () => {
    server = await startMariaDb({ bufferPoolMb: 64 });
    work = tempDir();
    smtp = await startSmtpServer();
    fs.writeFileSync(path.join(work, 'webjobs.config.json'), JSON.stringify(FAST_RETRIES));
  }, 120_000);
  afterAll(async () => {
    await smtp?.close();
    await server?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('down at start: backup-db retries with the configured backoff, exits 1 with one line naming the database (password masked), mails the failure, writes nothing', async () => {
    const deadPort = server.url('gone_at_start').replace(/:(\d+)\//, ':1/');
    const out = path.join(work, 'at-start');
    const r = await runCli(['backup-db', '--out', out, '--json'], {
      cwd: work,
      env: { DATABASE_URL: deadPort, SMTP_URL: smtp.url, WEBJOBS_ADMINS: 'ops@example.test' },
    });
    expect(r.code).toBe(1);
    const s = JSON.parse(r.stdout);
    expect(s.status).toBe('failed');
    expect(s.error).toMatch(/127\.0\.0\.1:1\/gone_at_start/);
    expect(r.stderr.match(/try [23] of 3 in/g)?.length).toBe(2);
    const failedLines = r.stderr.split('\n').filter((l) => l.includes(' ERROR '));
    expect(failedLines).toHaveLength(1);
    for (const text of [r.stdout, r.stderr, ...smtp.received.map((m) => m.raw)])
      expect(text).not.toContain(server.password);
    expect(smtp.received.some((m) => /Subject:.*[Ff]ail/.test(m.raw))).toBe(true);
    expect(leftovers(out)).toEqual([]);
  });

  it.each(EVERY_JOB)(
    'down at start: %s retries, then exits 1 naming the database (password masked) and mails the failure',
    async (job, args) => {
      const deadPort = server.url('gone_at_start').replace(/:(\d+)\//, ':1/');
      const before = smtp.received.length;
      const r = await runCli([job, ...args, '--json'], {
        cwd: work,
        env: { DATABASE_URL: deadPort, SMTP_URL: smtp.url, WEBJOBS_ADMINS: 'ops@example.test' },
      });
      expect(r.code).toBe(1);
      expect(JSON.parse(r.stdout).error).toMatch(/127\.0\.0\.1:1\/gone_at_start/);
      expect(r.stderr.match(/try [23] of 3 in/g)?.length).toBe(2);
      expect(r.stderr.split('\n').filter((l) => l.includes(' ERROR '))).toHaveLength(1);
      const mails = smtp.received.slice(before);
      expect(mails).toHaveLength(1);
      for (const text of [r.stdout, r.stderr, mails[0]?.raw ?? '']) expect(text).not.toContain(server.password);
    },
  );

  it('stopped mid-backup: exit 1, the temporary file removed, no file under a final name', async () => {
    const admin = await mysql.createConnection({
      host: '127.0.0.1',
      port: server.port,
      user: server.user,
      password: server.password,
    });
    await admin.query('CREATE DATABASE mid_run');
    await admin.end();
    const db = await openDatabase(server.url('mid_run'));
    await demoDatabase(db, 2000);
    // Enough rows that the dump is still writing when the server dies.
    for (let i = 0; i < 7; i++)
      await db.execute(
        'INSERT INTO api_requests (widget_id, platform, status_code, response_time_ms, cache_hit, created_at) SELECT widget_id, platform, status_code, response_time_ms, cache_hit, created_at FROM api_requests',
      );
    await db.close();
    const out = path.join(work, 'mid-run');
    const run = startCli(['backup-db', '--type', 'full', '--out', out, '--json'], {
      cwd: work,
      env: { DATABASE_URL: server.url('mid_run') },
    });
    await waitFor(() => leftovers(out).some((n) => n.endsWith('.tmp')), 60_000);
    await server.stop();
    const r = await run.done;
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).error).toMatch(/mid_run/);
    expect(r.stderr).not.toContain(server.password);
    expect(leftovers(out)).toEqual([]);
  }, 120_000);
});

describe('a locked SQLite database', () => {
  it('is waited for up to the busy timeout, then fails clearly; once released the next run succeeds', async () => {
    const work = tempDir();
    const file = path.join(work, 'app.sqlite');
    const db = await openDatabase(`sqlite:${file}`);
    await createReferenceSchema(db);
    await db.close();
    fs.writeFileSync(
      path.join(work, 'webjobs.config.json'),
      JSON.stringify({ database: { busyTimeoutMs: 700 }, retry: { tries: 2, backoffSeconds: [0.1] } }),
    );
    // Another process holds a write transaction, as an app in the middle of a long write would.
    const holder = spawn('sqlite3', [file], { stdio: ['pipe', 'pipe', 'pipe'] });
    holder.stdin.write("BEGIN IMMEDIATE; INSERT INTO settings(key, value) VALUES ('held', '1'); SELECT 'locked';\n");
    await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
    const t0 = Date.now();
    const r = await runCli(['backup-db', '--json', '--out', path.join(work, 'b')], {
      cwd: work,
      env: { DATABASE_URL: `sqlite:${file}` },
    });
    const waited = Date.now() - t0;
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).error).toMatch(/locked|busy/i);
    expect(waited).toBeGreaterThanOrEqual(1400);
    holder.stdin.end('ROLLBACK;\n');
    await new Promise((resolve) => holder.on('close', resolve));
    const again = await runCli(['backup-db', '--json', '--out', path.join(work, 'b')], {
      cwd: work,
      env: { DATABASE_URL: `sqlite:${file}` },
    });
    expect(again.code).toBe(0);
    fs.rmSync(work, { recursive: true, force: true });
  }, 60_000);
});
