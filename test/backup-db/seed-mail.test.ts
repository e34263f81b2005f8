import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { ENGINES, tempDir, type TestDatabase } from '../support/databases.js';
import { demoDatabase } from '../support/fixtures.js';
import { leafParts, parseMime } from '../support/mime.js';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp.js';

const mailText = (raw: string) =>
  leafParts(parseMime(Buffer.from(raw, 'utf8')))
    .filter((p) => p.contentType === 'text/plain')
    .map((p) => p.body.toString('utf8'))
    .join('\n')
    .replace(/\r\n/g, '\n');

/** Seed 002's backup mails (sign-off, warning mark, "45.67 seconds") and its --verbose detail. */
describe.each(ENGINES)('backup-db as seed 002 writes it on $engine', ({ create }) => {
  let t: TestDatabase;
  let work: string;
  let smtp: TestSmtpServer;
  beforeAll(async () => {
    t = await create();
    await demoDatabase(t.db, 300);
    work = tempDir();
    smtp = await startSmtpServer();
  });
  afterAll(async () => {
    await smtp?.close();
    await t?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  const backup = async (name: string, config: object, args: string[] = []) => {
    const cfg = path.join(work, `${name}.json`);
    fs.writeFileSync(cfg, JSON.stringify({ app: { name: 'Noobz Cinema' }, ...config }));
    const before = smtp.received.length;
    const r = await runCli(['backup-db', '--config', cfg, '--out', path.join(work, name), '--json', ...args], {
      cwd: work,
      env: { DATABASE_URL: t.url, SMTP_URL: smtp.url, WEBJOBS_ADMINS: 'ops@example.test' },
    });
    return { ...r, mails: smtp.received.slice(before).map((m) => mailText(m.raw)) };
  };

  it('the success mail: duration in seconds with two decimals, signed "Best regards, <app.name> System"', async () => {
    const r = await backup('ok', {});
    expect(r.code).toBe(0);
    expect(r.mails).toHaveLength(1);
    const text = r.mails[0]!;
    expect(text).toMatch(/^Database Backup Completed\n/);
    expect(text).toMatch(/\nDuration: \d+\.\d\d seconds\n/);
    expect(text).toMatch(
      /The backup file is stored securely on the server\.\n\nBest regards,\nNoobz Cinema System\s*$/,
    );
  });

  it('the failure mail: the warning mark first, signed the same way', async () => {
    const r = await backup('failed', { backup: { critical: ['nope_a', 'nope_b'] } });
    expect(r.code).toBe(1);
    expect(r.mails).toHaveLength(1);
    const text = r.mails[0]!;
    expect(text).toMatch(/^\u26a0\ufe0f Database Backup FAILED\n/);
    expect(text).toContain('Error: none of the 2 critical tables exists');
    expect(text).toMatch(/Please check the logs for more details\.\n\nBest regards,\nNoobz Cinema System\s*$/);
  });

  it('--verbose: one line per table with its rows, then raw bytes, gzip bytes and the ratio', async () => {
    const r = await backup('verbose', {}, ['--verbose']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as { result: { file: string; bytes: number; rowsByTable: Record<string, number> } };
    const tables = Object.entries(s.result.rowsByTable);
    expect(tables.length).toBe(14);
    for (const [table, rows] of tables) expect(r.stderr).toContain(`table backed up (table: ${table}, rows: ${rows})`);
    const raw = zlib.gunzipSync(fs.readFileSync(s.result.file)).length;
    const ratio = ((1 - s.result.bytes / raw) * 100).toFixed(2);
    expect(r.stderr).toMatch(
      new RegExp(
        `backup compressed \\(original: [\\d.]+ [KM]?B, compressed: [\\d.]+ [KM]?B, ratio: ${ratio.replace('.', '\\.')}%; ${raw} → ${s.result.bytes} bytes\\)`,
      ),
    );
    const quiet = await backup('quiet', {});
    expect(quiet.stderr).not.toContain('table backed up');
    expect(quiet.stderr).not.toContain('backup compressed');
  });
});
