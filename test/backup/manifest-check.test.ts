import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupDbJob, type BackupResult } from '../../src/jobs/backup-db/index.js';
import { runJob } from '../../src/runner/runner.js';
import { ManualClock } from '../../src/util/clock.js';
import { runCli } from '../support/cli.js';
import { ENGINES, tempDir, type TestDatabase } from '../support/databases.js';
import { testEnvironment } from '../support/environment.js';

describe.each(ENGINES)('backup manifests, backups --check and the size warning on $engine', ({ create, engine }) => {
  let t: TestDatabase;
  let work: string;
  let dir: string;
  const files: string[] = [];

  async function backup(type: 'critical' | 'full', at: string): Promise<BackupResult> {
    const env = testEnvironment({
      db: t.db,
      url: t.url,
      clock: new ManualClock(at),
      config: { backup: { dir, critical: ['items'], retentionDays: 365 } },
    });
    const s = await runJob(backupDbJob, { type, verify: true }, env, { dryRun: false, args: {} });
    expect(s.error).toBeUndefined();
    return s.result as BackupResult;
  }

  const cli = (args: string[]) =>
    runCli(['backups', '--out', dir, ...args], {
      cwd: work,
      env: { DATABASE_URL: t.url, WEBJOBS_NOW: '2026-11-25T05:00:00Z' },
    });

  beforeAll(async () => {
    t = await create();
    work = tempDir();
    dir = path.join(work, 'backups');
    await t.db.execute('CREATE TABLE items (id INT PRIMARY KEY, body VARCHAR(200) NOT NULL)');
    for (let i = 0; i < 20; i++)
      await t.db.execute(
        `INSERT INTO items VALUES ${Array.from(
          { length: 100 },
          (_, j) =>
            `(${i * 100 + j}, '${createHash('sha1')
              .update(String(i * 100 + j))
              .digest('hex')}')`,
        ).join(',')}`,
      );
    files.push((await backup('critical', '2026-11-24T03:00:00Z')).file as string);
    files.push((await backup('full', '2026-11-24T04:00:00Z')).file as string);
    await t.db.execute('DELETE FROM items WHERE id >= 100'); // a sudden drop: 2000 rows to 100
    files.push((await backup('critical', '2026-11-25T03:00:00Z')).file as string);
  }, 180_000);

  afterAll(async () => {
    await t?.cleanup();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('writes FILE.manifest.json (0600) with the facts of the file as written', () => {
    const file = files[0] as string;
    const manifestFile = `${file}.manifest.json`;
    expect(fs.statSync(manifestFile).mode & 0o777).toBe(0o600);
    const m = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
    const bytes = fs.readFileSync(file);
    expect(m).toMatchObject({
      format: 'webjobs-backup-manifest/1',
      file: path.basename(file),
      type: 'critical',
      tool: { name: 'webjobs' },
      engine: engine === 'mariadb' ? 'mysql' : 'sqlite',
      createdAt: '2026-11-24 03:00:00',
      createdAtUtc: '2026-11-24T03:00:00.000Z',
      bytes: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      sqlBytes: gunzipSync(bytes).length,
      snapshot: null, // the test server runs without a binary log
    });
    expect(m.serverVersion).toMatch(engine === 'mariadb' ? /MariaDB/ : /^3\.\d+/);
    expect(m.tables).toEqual([{ name: 'items', rows: 2000, checksum: expect.stringMatching(/.{32,}/) }]);
  });

  it('backups --check passes on intact files (the newest of each type by default, or --all)', async () => {
    const latest = await cli(['--check', '--json']);
    expect(latest.code).toBe(0);
    const r = JSON.parse(latest.stdout);
    expect(r.ok).toBe(true);
    expect(r.checked.map((c: { name: string }) => c.name)).toEqual([
      path.basename(files[2] as string),
      path.basename(files[1] as string),
    ]);
    const all = await cli(['--check', '--all', '--json']);
    expect(all.code).toBe(0);
    expect(JSON.parse(all.stdout).checked).toHaveLength(3);
  });

  it('warns when the newest backup of a type is far smaller than the previous one', async () => {
    const r = await cli(['--json']);
    const out = JSON.parse(r.stdout);
    expect(out.warnings).toEqual([
      expect.stringMatching(
        new RegExp(
          `^newest critical backup ${path.basename(files[2] as string)} is \\d+ % smaller than the previous one`,
        ),
      ),
    ]);
    const text = await cli([]);
    expect(text.stderr).toMatch(/WARN.*% smaller than the previous one/);
  });

  it('one flipped byte: backups --check exits 1 naming the file; a missing manifest is a note, not damage', async () => {
    const victim = files[0] as string;
    const original = fs.readFileSync(victim);
    const damaged = Buffer.from(original);
    const at = Math.floor(damaged.length / 2);
    damaged[at] = (damaged[at] as number) ^ 0x01;
    fs.writeFileSync(victim, damaged);
    try {
      const r = await cli(['--check', '--all']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`DAMAGED ${dir}/${path.basename(victim)}:`);
      expect(r.stderr).toMatch(/SHA-256 [0-9a-f]{64} differs from the manifest's/);
      expect(r.stderr).toContain('1 of 3 backup(s) damaged');
      const latest = await cli(['--check', '--latest']);
      expect(latest.code).toBe(0); // the damaged file is not the newest of its type
    } finally {
      fs.writeFileSync(victim, original);
    }
    fs.renameSync(`${victim}.manifest.json`, `${victim}.manifest.json.away`);
    try {
      const r = await cli(['--check', '--all']);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain('no manifest: checked as gzip with a completion footer only');
    } finally {
      fs.renameSync(`${victim}.manifest.json.away`, `${victim}.manifest.json`);
    }
  });

  it('a truncated file fails the check even without its manifest', async () => {
    const victim = files[1] as string;
    const original = fs.readFileSync(victim);
    fs.writeFileSync(victim, original.subarray(0, original.length - 20));
    fs.renameSync(`${victim}.manifest.json`, `${victim}.manifest.json.away`);
    try {
      const r = await cli(['--check', '--all', '--json']);
      expect(r.code).toBe(1);
      const bad = JSON.parse(r.stdout).checked.filter((c: { ok: boolean }) => !c.ok);
      expect(bad.map((c: { name: string }) => c.name)).toEqual([path.basename(victim)]);
    } finally {
      fs.writeFileSync(victim, original);
      fs.renameSync(`${victim}.manifest.json.away`, `${victim}.manifest.json`);
    }
  });

  it('--all without --check is bad usage', async () => {
    const r = await cli(['--all']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--all and --latest go with --check');
  });
});
