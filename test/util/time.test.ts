import { afterEach, describe, expect, it } from 'vitest';
import { formatLocalDateTime, systemTimeZone } from '../../src/util/time.js';

describe('UTC without Intl', () => {
  const saved = process.env.TZ;
  afterEach(() => {
    if (saved === undefined) delete process.env.TZ;
    else process.env.TZ = saved;
  });

  it('formats UTC exactly as Intl does for the same zone', () => {
    const instants = [
      '2026-11-25T03:00:00Z',
      '2024-02-29T23:59:59Z',
      '1999-12-31T23:59:59.999Z',
      '2000-01-01T00:00:00Z',
      '0999-05-06T07:08:09Z',
      '2038-01-19T03:14:08Z',
    ];
    for (let t = Date.parse('2026-01-01T00:00:00Z'); t < Date.parse('2027-01-01T00:00:00Z'); t += 7 * 3_600_000 + 1234)
      instants.push(new Date(t).toISOString());
    for (const iso of instants) {
      const d = new Date(iso);
      // 'Etc/UTC' goes through Intl; 'UTC' through the Date getters.
      expect(formatLocalDateTime(d, 'UTC'), iso).toBe(formatLocalDateTime(d, 'Etc/UTC'));
    }
  });

  it('names the system zone as Intl does', () => {
    for (const tz of ['UTC', 'Etc/UTC', 'Europe/Paris', 'America/New_York', 'Asia/Kolkata']) {
      process.env.TZ = tz;
      expect(systemTimeZone(), tz).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone);
    }
    delete process.env.TZ;
    expect(systemTimeZone()).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone);
  });
});
