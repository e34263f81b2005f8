import fs from 'node:fs';
import { UsageError } from './errors.js';

/**
 * The system's time zone, used when config sets none. A system on UTC (TZ=UTC, or no TZ and
 * /etc/localtime pointing at UTC, as on most servers) is recognised without Intl, whose first
 * use costs ~40 ms of every run's start-up: UTC needs no time zone data at all (see localParts).
 */
export function systemTimeZone(): string {
  const tz = process.env.TZ;
  if (tz === 'UTC' || tz === 'Etc/UTC' || (tz === undefined && localtimeIsUtc())) return 'UTC';
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

function localtimeIsUtc(): boolean {
  try {
    return /\/zoneinfo\/(Etc\/)?UTC$/.test(fs.readlinkSync('/etc/localtime'));
  } catch {
    return false;
  }
}

export function assertTimeZone(tz: string): string {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    throw new UsageError(`unknown time zone "${tz}"`);
  }
  return tz;
}

interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const partFormatters = new Map<string, Intl.DateTimeFormat>();

function localParts(date: Date, tz: string): LocalParts {
  if (tz === 'UTC') {
    return {
      year: date.getUTCFullYear(),
      month: date.getUTCMonth() + 1,
      day: date.getUTCDate(),
      hour: date.getUTCHours(),
      minute: date.getUTCMinutes(),
      second: date.getUTCSeconds(),
    };
  }
  let fmt = partFormatters.get(tz);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    partFormatters.set(tz, fmt);
  }
  const parts: Record<string, number> = {};
  for (const p of fmt.formatToParts(date)) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  return {
    year: parts.year ?? 0,
    month: parts.month ?? 0,
    day: parts.day ?? 0,
    hour: parts.hour ?? 0,
    minute: parts.minute ?? 0,
    second: parts.second ?? 0,
  };
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** `YYYY-MM-DD HH:MM:SS` in the app's local time: the reference schema's date-time form. */
export function formatLocalDateTime(date: Date, tz: string): string {
  const p = localParts(date, tz);
  return `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)} ${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}`;
}

/** `YYYY-MM-DD` in the app's local time. */
export function formatLocalDate(date: Date, tz: string): string {
  return formatLocalDateTime(date, tz).slice(0, 10);
}

/** `YYYY-MM-DD_HH-mm-ss`: the timestamp in backup file names. */
export function formatFileStamp(date: Date, tz: string): string {
  return formatLocalDateTime(date, tz).replace(' ', '_').replace(/:/g, '-');
}

/** Parses a `YYYY-MM-DD` argument strictly (a real calendar day), or throws a UsageError. */
export function parseDay(value: string, what = 'date'): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) throw new UsageError(`${what} must be YYYY-MM-DD, got "${value}"`);
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const probe = new Date(Date.UTC(y, mo - 1, d));
  if (probe.getUTCFullYear() !== y || probe.getUTCMonth() !== mo - 1 || probe.getUTCDate() !== d) {
    throw new UsageError(`${what} "${value}" is not a calendar day`);
  }
  return value;
}

/** Adds whole days to a `YYYY-MM-DD` day (calendar arithmetic, no time zone involved). */
export function addDays(day: string, days: number): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  const t = new Date(Date.UTC(y, m - 1, d + days));
  return `${pad(t.getUTCFullYear(), 4)}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
}

/** Days from `from` to `to` inclusive, as `YYYY-MM-DD`. */
export function daysBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) out.push(d);
  return out;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`;
  const m = Math.floor(ms / 60_000);
  return `${m} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(2)} ${units[i]}`;
}
