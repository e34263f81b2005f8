import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, tempDir, type TestDatabase } from '../support/databases.js';
import { runCli } from '../support/cli.js';
import { demoDatabase } from '../support/fixtures.js';

function finalBackups(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => /^backup_.*\.sql\.gz$/.test(n)) : [];
}

describe.each(ENGINES)('backup-db from the command line on $engine', ({ create }) => {
  let t: TestDatabase;
  let work: string;
  beforeAll(async () => {
    t = await create();
    await demoDatabase(t.db, 2000);
    work = tempDir();
  });
  afterAll(async () => {
    await t?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    runCli(args, { cwd: work, env: { DATABASE_URL: t.url, ...env } });

  it('--dry-run lists tables and the target, writes no file, no folder, no history row', async () => {
    const out = path.join(work, 'dry');
    const r = await cli(['backup-db', '--dry-run', '--json', '--out', out]);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ job: 'backup-db', status: 'dry-run', dryRun: true });
    expect(summary.result.plan.map((p: { table: string }) => p.table)).toContain('users');
    expect(summary.result.file).toContain(path.join(out, 'backup_critical_'));
    expect(fs.existsSync(out)).toBe(false);
    expect(await t.db.tableExists('webjobs_runs')).toBe(false);
  });

  it('backs up the critical tables: one 0600 file, JSON summary with file, bytes, tables, rows, skippedTables', async () => {
    const out = path.join(work, 'crit');
    const r = await cli(['backup-db', '--type', 'critical', '--json', '--out', out, '--level', '6', '--verify']);
    expect(r.stderr).not.toContain(t.url.includes('@') ? 'test-secret-Pw9' : '\u0000');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.status).toBe('succeeded');
    expect(s.result.tables).toHaveLength(14);
    expect(s.result.skippedTables).toEqual([]);
    expect(s.result.rows).toBeGreaterThan(100);
    expect(s.result.verified.ok).toBe(true);
    expect(finalBackups(out)).toEqual([path.basename(s.result.file)]);
    expect(fs.statSync(s.result.file).size).toBe(s.result.bytes);
    expect(fs.statSync(s.result.file).mode & 0o777).toBe(0o600);
    const runs = await t.db.query<{ status: string; attempts: number; host: string }>(
      "SELECT status, attempts, host FROM webjobs_runs WHERE job = 'backup-db' AND status = 'succeeded'",
    );
    expect(runs).toHaveLength(1);
    expect(runs[0]?.host).toBe(os.hostname());
  });

  it('warns about and skips a listed table that does not exist; fails when none exists', async () => {
    const cfg = path.join(work, 'missing.json');
    fs.writeFileSync(
      cfg,
      JSON.stringify({ backup: { critical: ['users', 'no_such_table'], dir: path.join(work, 'missing') } }),
    );
    const ok = await cli(['backup-db', '--config', cfg, '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).result.skippedTables).toEqual(['no_such_table']);
    expect(ok.stderr).toMatch(/WARN .*no_such_table/);
    fs.writeFileSync(
      cfg,
      JSON.stringify({ backup: { critical: ['nope_a', 'nope_b'], dir: path.join(work, 'missing2') } }),
    );
    const bad = await cli(['backup-db', '--config', cfg, '--json']);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout).error).toMatch(/none of the 2 critical tables exists/);
    expect(finalBackups(path.join(work, 'missing2'))).toEqual([]);
  });

  it('exits 0 as skipped while another live run holds the lock, naming the holder', async () => {
    await cli(['init']);
    const now = Date.now();
    await t.db.execute(
      'INSERT INTO webjobs_locks (name, owner, run_id, host, pid, acquired_at_ms, lease_until_ms) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ['backup-db', 'someone-else', null, os.hostname(), process.pid, now, now + 600_000],
    );
    try {
      const r = await cli(['backup-db', '--json', '--out', path.join(work, 'locked')]);
      expect(r.code).toBe(0);
      const s = JSON.parse(r.stdout);
      expect(s.status).toBe('skipped');
      expect(s.reason).toContain(`pid ${process.pid}`);
      expect(r.stderr).toMatch(/skipped: another run holds the backup-db lock/);
      expect(finalBackups(path.join(work, 'locked'))).toEqual([]);
    } finally {
      await t.db.execute("DELETE FROM webjobs_locks WHERE name = 'backup-db'");
    }
  });

  it("retention deletes old webjobs backups of the run's type only, never a foreign file", async () => {
    const out = path.join(work, 'retention');
    fs.mkdirSync(out, { recursive: true });
    const old = ['backup_critical_2020-01-01_03-00-00.sql.gz', 'backup_full_2020-01-02_03-00-00.sql.gz'];
    const foreign = [
      'backup_critical_2020-01-01_03-00-00.sql.gz.bak',
      'mydump_2020-01-01.sql.gz',
      'notes.txt',
      'backup_critical_2020-01-01.sql.gz',
    ];
    for (const n of [...old, ...foreign]) fs.writeFileSync(path.join(out, n), 'x');
    const r = await cli(['backup-db', '--json', '--out', out]);
    expect(r.code).toBe(0);
    // A critical run weighs critical backups only: the old full backup (the newest of its type) stays.
    expect(JSON.parse(r.stdout).result.retention.deleted).toEqual([old[0]]);
    const left = fs.readdirSync(out).sort();
    for (const n of foreign) expect(left).toContain(n);
    expect(left).not.toContain(old[0]);
    expect(left).toContain(old[1]);
  });
});

describe('bad usage exits 2 with one clear line', () => {
  const work = tempDir();
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
  let configs = 0;
  /** A config file in `work` with these `backup` keys; returns its name. */
  const configFile = (backup: Record<string, unknown>) => {
    const name = `config-${++configs}.json`;
    fs.writeFileSync(path.join(work, name), JSON.stringify({ backup }));
    return name;
  };
  const cases: [string, string[], NodeJS.ProcessEnv, RegExp][] = [
    [
      'a bad database URL',
      ['backup-db', '--db', 'postgres://x@y/z'],
      {},
      /must start with sqlite:, mysql:\/\/ or mariadb:\/\//,
    ],
    [
      'an unreadable config file',
      ['backup-db', '--config', '/nonexistent/webjobs.json'],
      {},
      /cannot read config file/,
    ],
    ['a config file that is not JSON', ['backup-db', '--config', 'BROKEN'], {}, /is not valid JSON/],
    ['a level out of range', ['backup-db', '--level', '11'], {}, /--level must be between 1 and 9/],
    ['an unknown option', ['backup-db', '--frobnicate'], {}, /unknown option '--frobnicate'/],
    [
      "a misspelled rule in the other type's retention",
      ['backup-db', '--type', 'critical', '--config', configFile({ retention: { full: { keepDaly: 3 } } })],
      {},
      /config backup\.retention\.full\.keepDaly is not a retention rule \(keepLast, .*keepWithinDays\)$/m,
    ],
    [
      'a negative retention rule',
      ['backup-db', '--config', configFile({ retention: { critical: { keepDaily: -1 } } })],
      {},
      /config backup\.retention\.critical\.keepDaily must be at least 0, got -1/,
    ],
    [
      'retention rules that are not an object',
      ['backup-db', '--config', configFile({ retention: { critical: 7 } })],
      {},
      /config backup\.retention\.critical must be an object/,
    ],
    [
      'a negative free-space margin',
      ['backup-db', '--config', configFile({ freeSpaceMarginBytes: -1 })],
      {},
      /config backup\.freeSpaceMarginBytes must be at least 0, got -1/,
    ],
    [
      'a shrink warning of 0 %',
      ['backups', '--config', configFile({ shrinkWarnPercent: 0 })],
      {},
      /config backup\.shrinkWarnPercent must be at least 1, got 0/,
    ],
  ];
  it.each(cases)('%s', async (_what, args, env, message) => {
    fs.writeFileSync(path.join(work, 'BROKEN'), '{ not json');
    const r = await runCli(args, { cwd: work, env });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(fs.existsSync(path.join(work, 'var', 'backups'))).toBe(false);
  });
});
