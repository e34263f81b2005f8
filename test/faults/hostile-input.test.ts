import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { ENGINES, tempDir, type TestDatabase } from '../support/databases.js';
import { demoDatabase } from '../support/fixtures.js';

const HOSTILE_NAMES = ["users'; DROP TABLE users; --", 'users`', 'users; DELETE FROM users', 'users /* x */', 'users"--'];

/** Everything a run could have changed: the tables' row counts and the working folder's files. */
async function snapshot(t: TestDatabase, work: string): Promise<string> {
  const counts: string[] = [];
  for (const table of (await t.db.listTables()).sort()) {
    const row = await t.db.queryOne<{ n: number }>(`SELECT COUNT(*) AS n FROM ${t.db.quote(table)}`);
    counts.push(`${table}=${Number(row?.n)}`);
  }
  const files = fs.readdirSync(work, { recursive: true }).map(String).sort();
  return `${counts.join(',')}|${files.join(',')}`;
}

describe.each(ENGINES)('hostile input on $engine: one clear line, exit 2, nothing changed', ({ create }) => {
  let t: TestDatabase;
  let work: string;
  beforeAll(async () => {
    t = await create();
    await demoDatabase(t.db, 1000);
    work = tempDir();
  });
  afterAll(async () => {
    await t?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  async function expectRefused(args: string[], config: unknown, message: RegExp) {
    const configFile = path.join(work, 'hostile.json');
    fs.writeFileSync(configFile, JSON.stringify(config ?? {}));
    const before = await snapshot(t, work);
    const r = await runCli([...args, '--config', configFile], { cwd: work, env: { DATABASE_URL: t.url } });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(await snapshot(t, work)).toBe(before);
    expect(await t.db.tableExists('webjobs_runs')).toBe(false);
  }

  it.each(HOSTILE_NAMES)('backup-db with config backup.critical naming %j', async (name) => {
    await expectRefused(['backup-db'], { backup: { critical: ['users', name] } }, /not a valid name/);
  });

  it.each(['a\nb', 'x\ty', 'back\rups'])('backup-db --out %j (a control character)', async (dir) => {
    await expectRefused(['backup-db', '--out', path.join(work, dir)], {}, /control character/);
  });

  it('backup-db with config backup.dir holding a newline', async () => {
    await expectRefused(['backup-db'], { backup: { dir: 'var/back\nups' } }, /control character/);
  });

  it.each([
    ['--type bogus', ['backup-db', '--type', 'bogus'], /--type must be one of/],
    ['--level 0', ['backup-db', '--level', '0'], /--level must be between 1 and 9/],
    ['--level 9x', ['backup-db', '--level', '9x'], /--level must be a whole number/],
  ])('backup-db %s', async (_what, args, message) => {
    await expectRefused(args as string[], {}, message as RegExp);
  });

  describe('restore-db refuses a file it did not write, before touching the target', () => {
    const target = () => path.join(work, 'restored.sqlite');
    async function expectRestoreRefused(file: string, message: RegExp) {
      const r = await runCli(['restore-db', file, '--db', `sqlite:${target()}`], { cwd: work });
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      expect(fs.existsSync(target())).toBe(false);
    }
    it('a truncated backup', async () => {
      const out = path.join(work, 'good');
      const ok = await runCli(['backup-db', '--out', out, '--json'], { cwd: work, env: { DATABASE_URL: t.url } });
      expect(ok.code).toBe(0);
      const file = JSON.parse(ok.stdout).result.file as string;
      const bytes = fs.readFileSync(file);
      const cut = path.join(work, 'truncated.sql.gz');
      fs.writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
      await expectRestoreRefused(cut, /damaged|truncated|incomplete/);
      // A file cut at a gzip member boundary is valid gzip but lacks the footer: refused as incomplete.
      const noFooter = path.join(work, 'no-footer.sql.gz');
      const text = zlib.gunzipSync(bytes).toString('utf8');
      fs.writeFileSync(noFooter, zlib.gzipSync(text.slice(0, text.lastIndexOf('\n', text.length - 2))));
      await expectRestoreRefused(noFooter, /incomplete|footer|truncated/);
      fs.rmSync(out, { recursive: true, force: true });
      fs.rmSync(cut);
      fs.rmSync(noFooter);
    });
    it('a file that is not gzip', async () => {
      const file = path.join(work, 'plain.sql.gz');
      fs.writeFileSync(file, crypto.randomBytes(2000));
      await expectRestoreRefused(file, /not a valid gzip/);
      fs.rmSync(file);
    });
    it("another tool's dump", async () => {
      const file = path.join(work, 'mysqldump.sql.gz');
      fs.writeFileSync(file, zlib.gzipSync('-- MySQL dump 10.13  Distrib 10.11\nCREATE TABLE t (a int);\nINSERT INTO t VALUES (1);\n'));
      await expectRestoreRefused(file, /not a webjobs backup/);
      fs.rmSync(file);
    });
  });
});
