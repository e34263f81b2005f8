import { describe, expect, it } from 'vitest';
import { Config } from '../../src/config/config.js';
import { describeCron, intervalMs, nextRun, parseCron, previousRun } from '../../src/schedule/cron-expr.js';
import { defaultSchedule, jitterOffsetSeconds, loadSchedule } from '../../src/schedule/schedule.js';
import { UsageError } from '../../src/util/errors.js';

const at = (iso: string) => new Date(iso);

describe('cron expressions', () => {
  it('parses fields, names, ranges, steps and macros', () => {
    const e = parseCron('*/15 9-17 * jan-mar mon,fri');
    expect(e.minutes).toEqual([0, 15, 30, 45]);
    expect(e.hours).toEqual([9, 10, 11, 12, 13, 14, 15, 16, 17]);
    expect(e.months).toEqual([1, 2, 3]);
    expect(e.daysOfWeek).toEqual([1, 5]);
    expect(parseCron('0 0 * * 7').daysOfWeek).toEqual([0]);
    expect(parseCron('@daily').normalized).toBe('0 0 * * *');
    expect(parseCron('*/2 * * * * *').hasSeconds).toBe(true);
  });

  it('rejects bad expressions with a reason', () => {
    expect(() => parseCron('0 25 * * *')).toThrow(/hour 25 is outside 0-23/);
    expect(() => parseCron('0 3 * *')).toThrow(/needs 5 fields/);
    expect(() => parseCron('x 3 * * *')).toThrow(/minute "x" is not a number/);
    expect(() => parseCron('0 5-3 * * *')).toThrow(/runs backwards/);
    expect(() => parseCron('@reboot')).toThrow(/unknown macro/);
    expect(() => parseCron('* * * * * *', { allowSeconds: false })).toThrow(/seconds field/);
  });

  it('finds the next and previous run in the app time zone, across DST', () => {
    const daily3 = parseCron('0 3 * * *');
    expect(nextRun(daily3, at('2026-11-25T03:00:00Z'), 'UTC')?.toISOString()).toBe('2026-11-26T03:00:00.000Z');
    expect(nextRun(daily3, at('2026-11-25T02:59:59Z'), 'UTC')?.toISOString()).toBe('2026-11-25T03:00:00.000Z');
    expect(previousRun(daily3, at('2026-11-25T03:00:00Z'), 'UTC')?.toISOString()).toBe('2026-11-25T03:00:00.000Z');
    expect(previousRun(daily3, at('2026-11-25T02:00:00Z'), 'UTC')?.toISOString()).toBe('2026-11-24T03:00:00.000Z');
    // Istanbul is UTC+3 all year.
    expect(nextRun(daily3, at('2026-11-25T12:00:00Z'), 'Europe/Istanbul')?.toISOString()).toBe(
      '2026-11-26T00:00:00.000Z',
    );
    // Berlin switches to summer time on 2026-03-29 at 02:00 → 03:00: 03:00 local is 01:00Z that day, 02:00Z the day before.
    expect(nextRun(daily3, at('2026-03-28T12:00:00Z'), 'Europe/Berlin')?.toISOString()).toBe(
      '2026-03-29T01:00:00.000Z',
    );
    expect(previousRun(daily3, at('2026-03-28T12:00:00Z'), 'Europe/Berlin')?.toISOString()).toBe(
      '2026-03-28T02:00:00.000Z',
    );
    const weekly = parseCron('0 8 * * 1');
    expect(nextRun(weekly, at('2026-11-25T12:00:00Z'), 'UTC')?.toISOString()).toBe('2026-11-30T08:00:00.000Z');
    expect(previousRun(weekly, at('2026-11-25T12:00:00Z'), 'UTC', 2 * 86_400_000)).toBeNull();
    expect(previousRun(weekly, at('2026-11-25T12:00:00Z'), 'UTC', 3 * 86_400_000)?.toISOString()).toBe(
      '2026-11-23T08:00:00.000Z',
    );
    const perSecond = parseCron('*/5 * * * * *');
    expect(nextRun(perSecond, at('2026-11-25T12:00:01Z'), 'UTC')?.toISOString()).toBe('2026-11-25T12:00:05.000Z');
  });

  it('uses the either-day rule when both day fields are set, as cron does', () => {
    const e = parseCron('0 0 13 * 5'); // the 13th, or any Friday
    expect(nextRun(e, at('2026-11-25T12:00:00Z'), 'UTC')?.toISOString()).toBe('2026-11-27T00:00:00.000Z');
  });

  it('measures the interval and says the schedule in words', () => {
    expect(intervalMs(parseCron('0 3 * * *'), at('2026-11-25T00:00:00Z'), 'UTC')).toBe(86_400_000);
    expect(intervalMs(parseCron('0 8 * * 1'), at('2026-11-25T00:00:00Z'), 'UTC')).toBe(7 * 86_400_000);
    expect(describeCron(parseCron('0 3 * * *'))).toBe('every day at 03:00');
    expect(describeCron(parseCron('0 8 * * 1'))).toBe('every Monday at 08:00');
    expect(describeCron(parseCron('30 6 * * 1-5'))).toBe('every weekday at 06:30');
    expect(describeCron(parseCron('*/10 * * * *'))).toBe('every 10 minutes');
    expect(describeCron(parseCron('15 * * * *'))).toBe('every hour at :15');
    expect(describeCron(parseCron('0 4 1 * *'))).toBe('on the 1st of every month at 04:00');
    expect(describeCron(parseCron('* * * * * *'))).toBe('every second');
    expect(describeCron(parseCron('0 0 1 1 *'))).toBe('cron "0 0 1 1 *"');
  });
});

describe('the schedule from config', () => {
  const cfg = (data: Record<string, unknown>) => new Config(data, null, '/tmp');

  it('defaults to the seeds: six jobs at their times with their arguments, in the order they run', async () => {
    const s = await loadSchedule(cfg({}));
    expect(s.entries.map((e) => [e.job, e.cron.normalized, e.args.join(' ')])).toEqual([
      ['aggregate-stats', '0 2 * * *', ''],
      ['cleanup-cache', '0 3 * * *', ''],
      ['backup-db', '0 3 * * *', '--type critical'],
      ['cleanup-tokens', '0 4 * * *', ''],
      ['warm-cache', '0 6 * * *', ''],
      ['export-report', '0 8 * * 1', '--period weekly'],
    ]);
    expect(await defaultSchedule()).toHaveLength(6);
    expect(s).toMatchObject({ jitterSeconds: 0, catchUpHours: 12 });
  });

  it('overrides, removes and adds entries; a bad expression is a usage error naming the job', async () => {
    const s = await loadSchedule(
      cfg({
        schedule: {
          jobs: { 'backup-db': '30 1 * * *', 'warm-cache': false, 'export-report': { args: ['--period', 'monthly'] } },
        },
      }),
    );
    expect(s.entries.find((e) => e.job === 'backup-db')).toMatchObject({
      args: ['--type', 'critical'],
      words: 'every day at 01:30',
    });
    expect(s.entries.find((e) => e.job === 'warm-cache')).toBeUndefined();
    expect(s.entries.find((e) => e.job === 'export-report')?.args).toEqual(['--period', 'monthly']);
    await expect(loadSchedule(cfg({ schedule: { jobs: { 'backup-db': '0 3 * *' } } }))).rejects.toThrow(UsageError);
    await expect(loadSchedule(cfg({ schedule: { jobs: { 'backup-db': '0 3 * *' } } }))).rejects.toThrow(
      /schedule for backup-db/,
    );
    await expect(loadSchedule(cfg({ schedule: { jobs: { 'new-job': { args: [] } } } }))).rejects.toThrow(
      /new-job has no cron expression/,
    );
    await expect(
      loadSchedule(cfg({ schedule: { jobs: { 'backup-db': { cron: '0 3 * * *', args: ['--config', 'x'] } } } })),
    ).rejects.toThrow(/for the whole schedule/);
    await expect(loadSchedule(cfg({ schedule: { jobz: {} } }))).rejects.toThrow(/schedule.jobz is not a known key/);
  });

  it('jitter: a fixed offset per host and job, within the bound, differing across hosts', () => {
    expect(jitterOffsetSeconds('backup-db', 0, 'a')).toBe(0);
    const offsets = Array.from({ length: 20 }, (_, i) => jitterOffsetSeconds('backup-db', 300, `host-${i}`));
    expect(offsets.every((o) => o >= 0 && o <= 300)).toBe(true);
    expect(new Set(offsets).size).toBeGreaterThan(10);
    expect(jitterOffsetSeconds('backup-db', 300, 'host-1')).toBe(offsets[1]);
  });
});
