import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { estimateBackupBytes } from '../../src/backup/preflight.js';
import { runCli } from '../support/cli.js';
import { ENGINES, tempDir, type TestDatabase } from '../support/databases.js';

const isRoot = process.getuid?.() === 0;

describe('estimateBackupBytes', () => {
  it('from the previous backup of the type (+25 %), else half the tables’ data length, else nothing', () => {
    expect(estimateBackupBytes(1000, 999_999)).toMatchObject({ bytes: 1250 });
    expect(estimateBackupBytes(null, 1000)).toMatchObject({ bytes: 500 });
    expect(estimateBackupBytes(null, null)).toMatchObject({ bytes: 0 });
  });
});

describe.each(ENGINES)('disk-space preflight on $engine', ({ create }) => {
  let t: TestDatabase;
  let work: string;
  const older = 'backup_critical_2026-11-24_03-00-00.sql.gz';

  beforeAll(async () => {
    t = await create();
    work = tempDir();
    await t.db.execute('CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(20))');
    await t.db.execute("INSERT INTO users VALUES (1, 'ada'), (2, 'bob')");
    fs.writeFileSync(path.join(work, 'c.json'), JSON.stringify({ backup: { critical: ['users'] } }));
  });

  afterAll(async () => {
    await t?.cleanup();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  const backup = (out: string, config = 'c.json') =>
    runCli(['backup-db', '--out', out, '--config', config, '--json'], { cwd: work, env: { DATABASE_URL: t.url } });

  it('the real folder cannot hold the estimate plus the margin: exit 1, one line, nothing written, older backups untouched', async () => {
    const out = path.join(work, 'real');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, older), 'older backup', { mode: 0o600 });
    fs.writeFileSync(
      path.join(work, 'huge-margin.json'),
      JSON.stringify({ backup: { critical: ['users'], freeSpaceMarginBytes: 2 ** 52 } }),
    );
    const r = await backup(out, 'huge-margin.json');
    expect(r.code).toBe(1);
    const summary = JSON.parse(r.stdout);
    expect(summary.error).toMatch(
      new RegExp(
        `^not enough free space in ${out}: .* free, the backup needs about .* plus a 4096\\.00 TB margin .*; nothing written$`,
      ),
    );
    expect(fs.readdirSync(out)).toEqual([older]);
    expect(fs.readFileSync(path.join(out, older), 'utf8')).toBe('older backup');
    // The same folder with the default margin has room.
    expect((await backup(out)).code).toBe(0);
  });

  it.skipIf(!isRoot)('a 2 MB tmpfs (root only): refused when the previous backup says it will not fit', async () => {
    const mnt = path.join(work, 'tmpfs');
    fs.mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt]);
    try {
      fs.writeFileSync(
        path.join(work, 'no-margin.json'),
        JSON.stringify({ backup: { critical: ['users'], freeSpaceMarginBytes: 0 } }),
      );
      const first = await backup(mnt, 'no-margin.json'); // no previous backup, tiny tables: fits
      expect(first.code).toBe(0);
      // An older 1.2 MB backup does not count: the estimate follows the newest of the type (the first run's).
      const big = randomBytes(1200 * 1024);
      fs.writeFileSync(path.join(mnt, older), big, { mode: 0o600 });
      expect((await backup(mnt, 'no-margin.json')).code).toBe(0);
      // A newer 1.2 MB one: about 1.5 MB estimated, under 1 MB free.
      fs.writeFileSync(path.join(mnt, 'backup_critical_2099-01-01_03-00-00.sql.gz'), big, { mode: 0o600 });
      const after = fs.readdirSync(mnt).sort();
      const refused = await backup(mnt, 'no-margin.json');
      expect(refused.code).toBe(1);
      expect(JSON.parse(refused.stdout).error).toMatch(
        /^not enough free space in .*: .* free, the backup needs about 1\.46 MB \(the previous backup's 1\.17 MB \+ 25 %\)/,
      );
      expect(fs.readdirSync(mnt).sort()).toEqual(after);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });
});
