import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AtomicFile, writeFileAtomic } from '../../src/util/atomic-file.js';
import { tempDir } from '../support/databases.js';
import { neutralizeCell } from '../../src/jobs/export-report/render.js';
import { removeOrphanedReportTemps } from '../../src/jobs/export-report/report-files.js';

const dir = tempDir('webjobs-atomic-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('AtomicFile', () => {
  it('shows nothing under the final name until commit, then a 0600 file; an older version stays until the rename', () => {
    fs.writeFileSync(path.join(dir, 'r.csv'), 'old');
    const f = new AtomicFile(dir, 'r.csv');
    f.write('new ');
    f.write(Buffer.from('bytes'));
    expect(fs.readFileSync(path.join(dir, 'r.csv'), 'utf8')).toBe('old');
    expect(fs.statSync(f.tempPath).mode & 0o777).toBe(0o600);
    expect(f.commit()).toBe(path.join(dir, 'r.csv'));
    expect(fs.readFileSync(path.join(dir, 'r.csv'), 'utf8')).toBe('new bytes');
    expect(fs.statSync(path.join(dir, 'r.csv')).mode & 0o777).toBe(0o600);
    expect(fs.existsSync(f.tempPath)).toBe(false);
  });

  it('abort removes the temporary file and leaves the final name alone', () => {
    const f = new AtomicFile(dir, 'aborted.csv');
    f.write('partial');
    f.abort();
    f.abort();
    expect(fs.existsSync(f.tempPath)).toBe(false);
    expect(fs.existsSync(path.join(dir, 'aborted.csv'))).toBe(false);
    expect(writeFileAtomic(dir, 'whole.json', '{}')).toBe(path.join(dir, 'whole.json'));
  });

  it('orphaned report temp files of dead processes are removed; live ones and other files are kept', () => {
    const dead = '.user_activity_report_weekly_2026-11-18_to_2026-11-25.csv.999999.abc123.tmp';
    const live = `.user_activity_report_weekly_2026-11-18_to_2026-11-25.csv.${process.pid}.abc123.tmp`;
    const other = '.something.999999.abc.tmp';
    for (const n of [dead, live, other]) fs.writeFileSync(path.join(dir, n), '');
    expect(removeOrphanedReportTemps(dir, (pid) => pid === process.pid)).toEqual([dead]);
    expect(fs.existsSync(path.join(dir, live))).toBe(true);
    expect(fs.existsSync(path.join(dir, other))).toBe(true);
  });
});

describe('neutralizeCell', () => {
  it.each([
    ['=1+1', "'=1+1"],
    ['+1', "'+1"],
    ['-5', "'-5"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tx', "'\tx"],
    ['\rx', "'\rx"],
    ['plain', 'plain'],
    ['a=b', 'a=b'],
    ['', ''],
  ])('%j → %j', (input, output) => {
    expect(neutralizeCell(input)).toBe(output);
  });
});
