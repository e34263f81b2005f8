import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SMTPServer } from 'smtp-server';
import { openDatabase } from '../../src/db/connect.js';
import { freePort } from '../support/mariadb-server.js';
import { runCli } from '../support/cli.js';
import { mariadbServer, tempDir } from '../support/databases.js';

interface Report {
  ok: boolean;
  checks: Array<{ name: string; status: string; detail: string }>;
}

describe('webjobs doctor', () => {
  let work: string;
  let smtp: SMTPServer;
  let smtpPort: number;
  let messages = 0;
  beforeAll(async () => {
    work = tempDir();
    smtpPort = await freePort();
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onData: (s, _session, cb) => (messages++, s.resume(), s.on('end', () => cb())),
    });
    await new Promise<void>((r) => smtp.listen(smtpPort, '127.0.0.1', () => r()));
    expect(
      (await runCli(['init', '--schema', '--db', `sqlite:${path.join(work, 'app.sqlite')}`], { cwd: work })).code,
    ).toBe(0);
  });
  afterAll(async () => {
    await new Promise<void>((r) => smtp.close(() => r()));
    fs.rmSync(work, { recursive: true, force: true });
  });

  const doctor = async (cfg: Record<string, unknown>, args: string[] = ['--no-crontab']) => {
    const file = path.join(work, 'webjobs.config.json');
    fs.writeFileSync(
      file,
      JSON.stringify({ timezone: 'UTC', database: { url: `sqlite:${path.join(work, 'app.sqlite')}` }, ...cfg }),
    );
    const r = await runCli(['doctor', '--json', ...args], { cwd: work });
    return { code: r.code, report: JSON.parse(r.stdout) as Report, stderr: r.stderr };
  };
  const check = (report: Report, name: string) => report.checks.find((c) => c.name === name);

  it('all good: node, config, database, schema, settings, folders, SMTP handshake (no message sent) → exit 0', async () => {
    const { code, report } = await doctor({
      mail: { url: `smtp://127.0.0.1:${smtpPort}`, from: 'webjobs@example.com', admins: ['ops@example.com'] },
    });
    expect(report.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(code).toBe(0);
    expect(report.ok).toBe(true);
    expect(check(report, 'node')).toMatchObject({
      status: 'ok',
      detail: expect.stringContaining(process.versions.node),
    });
    expect(check(report, 'database')).toMatchObject({ status: 'ok' });
    expect(check(report, 'schema: application tables')).toMatchObject({ status: 'ok' });
    expect(check(report, 'mail')).toMatchObject({
      status: 'ok',
      detail: expect.stringMatching(/SMTP handshake .* succeeded; 1 admin/),
    });
    expect(check(report, 'folder: backups')).toMatchObject({ status: 'ok' });
    expect(report.checks.find((c) => c.name === 'crontab')).toBeUndefined();
    expect(messages).toBe(0);
  });

  it('each failure is named and makes the exit code 1', async () => {
    const closed = await freePort();
    const ro = path.join(work, 'ro');
    fs.mkdirSync(ro);
    fs.writeFileSync(path.join(ro, 'a-file'), '');
    const db = await openDatabase(`sqlite:${path.join(work, 'app.sqlite')}`);
    await db.execute("UPDATE settings SET value = 'forever' WHERE key = 'cache-statistics-retention-days'");
    const { code, report } = await doctor({
      mail: { url: `smtp://127.0.0.1:${closed}`, timeoutSeconds: 3 },
      backup: { dir: path.join(ro, 'a-file') },
    });
    await db.execute("UPDATE settings SET value = '30' WHERE key = 'cache-statistics-retention-days'");
    await db.close();
    expect(code).toBe(1);
    expect(report.ok).toBe(false);
    expect(check(report, 'mail')).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/SMTP handshake failed/),
    });
    expect(check(report, 'folder: backups')).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/is not a folder/),
    });
    expect(check(report, 'settings')).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/cache-statistics-retention-days must be a whole number/),
    });
  });

  it('an unreachable database fails (password masked); the crontab check runs unless --no-crontab', async () => {
    const server = mariadbServer();
    const { code, report } = await doctor(
      { database: { url: `mysql://webjobs:wrong-Secret-1@127.0.0.1:${server.port}/nope` } },
      ['--crontab-user', 'root', '--cwd', path.join(work, 'not-installed')],
    );
    expect(code).toBe(1);
    expect(check(report, 'database')).toMatchObject({ status: 'fail' });
    expect(JSON.stringify(report)).not.toContain('wrong-Secret-1');
    expect(check(report, 'crontab')).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/no webjobs block for .*not-installed/),
    });
  });
});
