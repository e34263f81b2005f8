import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, type CliResult } from '../support/cli.js';
import { ENGINES, tempDir, type TestDatabase } from '../support/databases.js';
import { demoDatabase } from '../support/fixtures.js';

const sha = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** Runs the CLI through a shell, so limits (ulimit) and another user (setpriv) can wrap it. */
function runShell(
  wrap: (command: string) => string,
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<CliResult> {
  const quoted = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', wrap(quoted)], {
      cwd,
      env: { PATH: process.env.PATH, TZ: 'UTC', NO_COLOR: '1', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

describe.each(ENGINES)('disk full and unwritable folders on $engine', ({ create }) => {
  let t: TestDatabase;
  let work: string;
  let out: string;
  const older = 'backup_critical_2026-11-24_03-00-00.sql.gz';
  beforeAll(async () => {
    t = await create();
    await demoDatabase(t.db, 40_000);
    work = tempDir();
    out = path.join(work, 'backups');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, older), 'an older backup that must survive', { mode: 0o600 });
  });
  afterAll(async () => {
    await t?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('a write that fails part-way (ulimit -f): exit 1, the temporary file removed, older backups untouched', async () => {
    // A first run lays out webjobs' own tables, so the limited run's database writes stay small.
    const warm = await runShell(
      (c) => `exec ${c}`,
      ['backup-db', '--out', path.join(work, 'warm')],
      { DATABASE_URL: t.url },
      work,
    );
    expect(warm.code).toBe(0);
    if (t.engine === 'sqlite') await t.db.query('PRAGMA wal_checkpoint(TRUNCATE)');
    const before = sha(path.join(out, older));
    const r = await runShell(
      (c) => `ulimit -f 256; exec ${c}`,
      ['backup-db', '--type', 'full', '--level', '1', '--out', out, '--json'],
      { DATABASE_URL: t.url },
      work,
    );
    expect(r.signal).toBeNull();
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).error).toMatch(/EFBIG|too large|file size/i);
    expect(fs.readdirSync(out)).toEqual([older]);
    expect(sha(path.join(out, older))).toBe(before);
  });

  it('an unwritable backup folder: exit 1 naming the folder, nothing written, older backups untouched', async () => {
    const locked = path.join(work, 'locked');
    fs.mkdirSync(locked);
    fs.writeFileSync(path.join(locked, older), 'older');
    let r: CliResult;
    if (process.getuid?.() === 0) {
      // root writes anywhere, so run as nobody against a database nobody may use.
      fs.chmodSync(work, 0o777);
      fs.chmodSync(locked, 0o555);
      if (t.engine === 'sqlite') {
        fs.chmodSync(path.dirname(t.location), 0o777);
        fs.chmodSync(t.location, 0o666);
        for (const suffix of ['-wal', '-shm'])
          if (fs.existsSync(t.location + suffix)) fs.chmodSync(t.location + suffix, 0o666);
      }
      r = await runShell(
        (c) => `exec setpriv --reuid=65534 --regid=65534 --clear-groups ${c}`,
        ['backup-db', '--out', locked, '--json'],
        { DATABASE_URL: t.url, HOME: '/tmp' },
        work,
      );
    } else {
      fs.chmodSync(locked, 0o555);
      r = await runShell((c) => `exec ${c}`, ['backup-db', '--out', locked, '--json'], { DATABASE_URL: t.url }, work);
    }
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).error).toMatch(/EACCES|permission denied/i);
    expect(JSON.parse(r.stdout).error).toContain(locked);
    expect(fs.readdirSync(locked)).toEqual([older]);
  });

  it('a backup folder path that runs through a regular file: exit 1, nothing written', async () => {
    const r = await runShell(
      (c) => `exec ${c}`,
      ['backup-db', '--out', path.join(out, older, 'sub'), '--json'],
      { DATABASE_URL: t.url },
      work,
    );
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).error).toMatch(/ENOTDIR|not a directory/i);
    expect(fs.readdirSync(out)).toEqual([older]);
  });
});
