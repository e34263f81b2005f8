import { describe, expect, it } from 'vitest';
import { isoWeek, planRetention, type RetentionCandidate, type RetentionRules } from '../../src/backup/retention.js';

const at = (type: string, time: string, good?: boolean): RetentionCandidate => ({
  name: `backup_${type}_${time.replace(' ', '_').replace(/:/g, '-')}.sql.gz`,
  type,
  time,
  ...(good === undefined ? {} : { good }),
});

/** Daily backups at 03:00 from `first` for `days` days. */
function daily(type: string, first: string, days: number): RetentionCandidate[] {
  const start = Date.parse(first + 'T03:00:00Z');
  return Array.from({ length: days }, (_, i) =>
    at(type, new Date(start + i * 86_400_000).toISOString().slice(0, 19).replace('T', ' ')),
  );
}

const kept = (backups: RetentionCandidate[], rules: RetentionRules, now: string) =>
  planRetention(backups, () => rules, now)
    .filter((d) => d.keep)
    .map((d) => d.time.slice(0, 10))
    .sort();

describe('planRetention (GFS, restic semantics)', () => {
  it('ISO weeks: a week belongs to the year of its Thursday', () => {
    expect(isoWeek('2026-01-01 00:00:00')).toBe('2026-W01'); // a Thursday
    expect(isoWeek('2027-01-01 00:00:00')).toBe('2026-W53'); // a Friday
    expect(isoWeek('2024-12-30 00:00:00')).toBe('2025-W01'); // a Monday
    expect(isoWeek('2026-11-29 23:59:59')).toBe('2026-W48'); // a Sunday
    expect(isoWeek('2026-11-30 00:00:00')).toBe('2026-W49');
  });

  it('keepLast keeps the N newest', () => {
    const backups = daily('critical', '2026-11-01', 10);
    expect(kept(backups, { keepLast: 3 }, '2026-11-10 04:00:00')).toEqual(['2026-11-08', '2026-11-09', '2026-11-10']);
  });

  it('keepDaily keeps the newest of each of the last N days that hold a backup (gaps do not count)', () => {
    const backups = [
      at('critical', '2026-11-10 03:00:00'),
      at('critical', '2026-11-10 15:00:00'),
      at('critical', '2026-11-07 03:00:00'), // 8 and 9 missing: the next day with a backup counts
      at('critical', '2026-11-06 23:00:00'),
      at('critical', '2026-11-06 01:00:00'),
      at('critical', '2026-11-01 03:00:00'),
    ];
    const plan = planRetention(backups, () => ({ keepDaily: 3 }), '2026-11-10 16:00:00');
    expect(plan.map((d) => [d.time, d.keep])).toEqual([
      ['2026-11-10 15:00:00', true],
      ['2026-11-10 03:00:00', false],
      ['2026-11-07 03:00:00', true],
      ['2026-11-06 23:00:00', true],
      ['2026-11-06 01:00:00', false],
      ['2026-11-01 03:00:00', false],
    ]);
    expect(plan[0]?.reasons).toEqual(['daily 2026-11-10', 'newest good backup of its type']);
    expect(plan[3]?.reasons).toEqual(['daily 2026-11-06']);
    expect(plan[5]?.reasons).toEqual(['kept by no rule (keepDaily 3)']);
  });

  it('weekly, monthly and yearly keep the newest of each period; any rule keeping a file keeps it', () => {
    const backups = daily('full', '2024-12-01', 801); // to 2027-02-09, a Tuesday
    const now = '2027-02-09 12:00:00';
    const plan = planRetention(backups, () => ({ keepDaily: 2, keepWeekly: 3, keepMonthly: 4, keepYearly: 3 }), now);
    const keep = plan.filter((d) => d.keep);
    expect(keep.map((d) => [d.time.slice(0, 10), d.reasons])).toEqual([
      [
        '2027-02-09',
        ['daily 2027-02-09', 'weekly 2027-W06', 'monthly 2027-02', 'yearly 2027', 'newest good backup of its type'],
      ],
      ['2027-02-08', ['daily 2027-02-08']],
      ['2027-02-07', ['weekly 2027-W05']], // a Sunday: the newest of its ISO week
      ['2027-01-31', ['weekly 2027-W04', 'monthly 2027-01']],
      ['2026-12-31', ['monthly 2026-12', 'yearly 2026']],
      ['2026-11-30', ['monthly 2026-11']],
      ['2025-12-31', ['yearly 2025']],
    ]);
    expect(plan.length - keep.length).toBe(801 - 7);
  });

  it('keepWithinDays (the old retentionDays) keeps everything taken within the window', () => {
    const backups = daily('critical', '2026-11-01', 12);
    expect(kept(backups, { keepWithinDays: 7 }, '2026-11-12 03:00:00')).toEqual([
      '2026-11-05',
      '2026-11-06',
      '2026-11-07',
      '2026-11-08',
      '2026-11-09',
      '2026-11-10',
      '2026-11-11',
      '2026-11-12',
    ]);
  });

  it('never deletes the newest good backup of a type, whatever the rules', () => {
    const backups = [at('full', '2026-01-01 03:00:00'), at('full', '2025-12-25 03:00:00')];
    const plan = planRetention(backups, () => ({ keepWithinDays: 7 }), '2026-11-25 03:00:00');
    expect(plan.map((d) => d.keep)).toEqual([true, false]);
    expect(plan[0]?.reasons).toEqual(['newest good backup of its type']);
    // No rule at all: still the newest.
    expect(planRetention(backups, () => ({}), '2026-11-25 03:00:00').map((d) => d.keep)).toEqual([true, false]);
  });

  it('a damaged newest backup does not count as the newest good one: the one before it stays', () => {
    const backups = [
      at('full', '2026-11-20 03:00:00', false),
      at('full', '2026-11-13 03:00:00'),
      at('full', '2026-11-06 03:00:00'),
    ];
    const plan = planRetention(backups, () => ({ keepLast: 1 }), '2026-11-25 03:00:00');
    expect(plan.map((d) => [d.time.slice(0, 10), d.keep, d.reasons])).toEqual([
      ['2026-11-20', true, ['last 1']],
      ['2026-11-13', true, ['newest good backup of its type']],
      ['2026-11-06', false, ['kept by no rule (keepLast 1)']],
    ]);
  });

  it("each type is weighed by its own rules: one type's backups never push the other's out", () => {
    const backups = [...daily('critical', '2026-11-01', 30), at('full', '2026-11-01 04:00:00')];
    const rules = (type: string): RetentionRules => (type === 'critical' ? { keepLast: 2 } : { keepWeekly: 4 });
    const plan = planRetention(backups, rules, '2026-11-30 05:00:00');
    expect(plan.filter((d) => d.keep).map((d) => `${d.type} ${d.time.slice(0, 10)}`)).toEqual([
      'critical 2026-11-30',
      'critical 2026-11-29',
      'full 2026-11-01',
    ]);
  });
});
