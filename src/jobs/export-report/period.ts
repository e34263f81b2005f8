import { addDays, formatLocalDate, parseDay } from '../../util/time.js';

export const PERIODS = ['daily', 'weekly', 'monthly'] as const;
export type Period = (typeof PERIODS)[number];

const DAYS: Record<Period, number> = { daily: 1, weekly: 7, monthly: 30 };

export interface ReportPeriod {
  period: Period;
  days: number;
  /** First day in the report, `YYYY-MM-DD` (local time). */
  from: string;
  /** The day the period ends at: its start is excluded, `YYYY-MM-DD` (local time). */
  to: string;
  /** Bounds as the reference schema's local date-times: `created_at >= fromTs AND created_at < toTs`. */
  fromTs: string;
  toTs: string;
}

/**
 * The last 1, 7 or 30 days ending at the start of `end` (default: today in the app's time
 * zone). The end day itself is not included, so a run on Monday morning covers up to
 * Sunday 23:59:59, and `--end 2025-10-09` reproduces the report made on 2025-10-09.
 */
export function reportPeriod(period: Period, now: Date, timeZone: string, end?: string): ReportPeriod {
  const to = end ? parseDay(end, '--end') : formatLocalDate(now, timeZone);
  const days = DAYS[period];
  const from = addDays(to, -days);
  return { period, days, from, to, fromTs: `${from} 00:00:00`, toTs: `${to} 00:00:00` };
}

export function periodTitle(period: Period): string {
  return period.charAt(0).toUpperCase() + period.slice(1);
}
