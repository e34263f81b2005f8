import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupDbJob, type BackupResult } from '../../src/jobs/backup-db/index.js';
import { runJob } from '../../src/runner/runner.js';
import { ManualClock } from '../../src/util/clock.js';
import { runCli } from '../support/cli.js';
import { ENGINES, tempDir, type TestDatabase } from '../support/databases.js';
import { testEnvironment } from '../support/environment.js';

const RETENTION = {
  critical: { keepDaily: 5, keepWeekly: 3 },
  full: { keepWeekly: 2, keepMonthly: 2 },
};

const names = (dir: string, suffix = '.sql.gz') =>
  fs
    .readdirSync(dir)
    .filter((n) => n.startsWith('backup_') && n.endsWith(suffix))
    .sort();

describe.each(ENGINES)('GFS retention over 30 days of real runs on $engine', ({ create }) => {
  let t: TestDatabase;
  let work: string;
  let dir: string;
  const clock = new ManualClock('2026-11-02T03:00:00Z'); // a Monday
  let lastCritical: BackupResult;

  beforeAll(async () => {
    t = await create();
    await t.db.execute('CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(20))');
    await t.db.execute("INSERT INTO users VALUES (1, 'ada')");
    work = tempDir();
    dir = path.join(work, 'backups');
    const config = { backup: { dir, critical: ['users'], retentionDays: 7, retention: RETENTION } };
    // Nov 2 (Mon) to Dec 1 (Tue): critical every day at 03:00, full every Sunday at 04:00.
    for (let day = 0; day < 30; day++) {
      clock.set(new Date(Date.parse('2026-11-02T03:00:00Z') + day * 86_400_000));
      const env = testEnvironment({ db: t.db, url: t.url, config, clock });
      const critical = await runJob(backupDbJob, { type: 'critical' }, env, { dryRun: false, args: {} });
      expect(critical.error).toBeUndefined();
      lastCritical = critical.result as BackupResult;
      if (clock.now().getUTCDay() === 0) {
        clock.advance(3_600_000);
        const full = await runJob(backupDbJob, { type: 'full' }, env, { dryRun: false, args: {} });
        expect(full.error).toBeUndefined();
      }
    }
  }, 300_000);

  afterAll(async () => {
    await t?.cleanup();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('leaves exactly the files the rules keep, each type by its own rules', () => {
    expect(names(dir)).toEqual([
      // critical: daily 5 (Nov 27 – Dec 1), weekly 3 (W49: Dec 1, W48: Nov 29, W47: Nov 22)
      'backup_critical_2026-11-22_03-00-00.sql.gz',
      'backup_critical_2026-11-27_03-00-00.sql.gz',
      'backup_critical_2026-11-28_03-00-00.sql.gz',
      'backup_critical_2026-11-29_03-00-00.sql.gz',
      'backup_critical_2026-11-30_03-00-00.sql.gz',
      'backup_critical_2026-12-01_03-00-00.sql.gz',
      // full: weekly 2 (W48: Nov 29, W47: Nov 22), monthly 2 (only November: Nov 29)
      'backup_full_2026-11-22_04-00-00.sql.gz',
      'backup_full_2026-11-29_04-00-00.sql.gz',
    ]);
    // Each manifest went with its backup.
    expect(names(dir, '.manifest.json')).toEqual(names(dir).map((n) => `${n}.manifest.json`));
  });

  it("a critical run's summary names what it kept and deleted, and why; it never weighs the full backups", () => {
    expect(lastCritical.retention.deleted).toEqual(['backup_critical_2026-11-26_03-00-00.sql.gz']);
    const decisions = lastCritical.retention.decisions;
    expect(decisions.every((d) => d.name.startsWith('backup_critical_'))).toBe(true);
    expect(decisions.find((d) => d.name === 'backup_critical_2026-11-26_03-00-00.sql.gz')?.reasons).toEqual([
      'kept by no rule (keepDaily 5, keepWeekly 3)',
    ]);
    expect(decisions.find((d) => d.name === 'backup_critical_2026-11-22_03-00-00.sql.gz')?.reasons).toEqual([
      'weekly 2026-W47',
    ]);
  });

  it('--dry-run and backups --dry-run-retention show what would go and why, and delete nothing', async () => {
    const before = names(dir);
    const env = { DATABASE_URL: t.url, WEBJOBS_NOW: '2026-12-09T03:00:00Z' };
    fs.writeFileSync(
      path.join(work, 'c.json'),
      JSON.stringify({ timezone: 'UTC', backup: { dir, critical: ['users'], retention: RETENTION } }),
    );
    const dry = await runCli(['backup-db', '--dry-run', '--json', '--config', 'c.json'], { cwd: work, env });
    expect(dry.code).toBe(0);
    const plan = JSON.parse(dry.stdout).result.retention;
    // The would-be backup of Dec 9 (W50) joins; Nov 27 falls out of the 5 days, Nov 22 out of the 3 weeks.
    expect(plan.deleted).toEqual([
      'backup_critical_2026-11-27_03-00-00.sql.gz',
      'backup_critical_2026-11-22_03-00-00.sql.gz',
    ]);
    const list = await runCli(['backups', '--dry-run-retention', '--json', '--config', 'c.json'], { cwd: work, env });
    expect(list.code).toBe(0);
    const shown = JSON.parse(list.stdout) as { decisions: { name: string; keep: boolean; reasons: string[] }[] };
    expect(shown.decisions.filter((d) => !d.keep)).toEqual([]); // without a new backup, the rules keep today's set
    expect(shown.decisions.find((d) => d.name === 'backup_full_2026-11-22_04-00-00.sql.gz')?.reasons).toEqual([
      'weekly 2026-W47',
    ]);
    const text = await runCli(['backups', '--dry-run-retention', '--config', 'c.json'], { cwd: work, env });
    expect(text.stdout).toContain(
      'keep    backup_critical_2026-12-01_03-00-00.sql.gz  daily 2026-12-01; weekly 2026-W49',
    );
    expect(names(dir)).toEqual(before);
  });
});
