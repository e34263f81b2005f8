/**
 * Cron expressions as system cron reads them (5 fields: minute hour day-of-month month
 * day-of-week, names and @daily-style macros allowed), plus an optional leading seconds field
 * that only `webjobs schedule` can run. Parsed here so that validation, `status` (next run, the
 * schedule in words, the interval) and catch-up all agree, in the app's time zone.
 */

export interface CronExpression {
  source: string;
  /** The expression with macros expanded (what goes into a crontab line). */
  normalized: string;
  hasSeconds: boolean;
  seconds: number[];
  minutes: number[];
  hours: number[];
  daysOfMonth: number[];
  months: number[];
  /** 0 = Sunday … 6 = Saturday (7 folded into 0). */
  daysOfWeek: number[];
  domRestricted: boolean;
  dowRestricted: boolean;
  fields: string[];
}

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const MONTH_NAMES = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

export class CronSyntaxError extends Error {
  override name = 'CronSyntaxError';
}

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: string[];
  namesFrom?: number;
}

const SPECS: Record<string, FieldSpec> = {
  second: { name: 'second', min: 0, max: 59 },
  minute: { name: 'minute', min: 0, max: 59 },
  hour: { name: 'hour', min: 0, max: 23 },
  dom: { name: 'day of month', min: 1, max: 31 },
  month: { name: 'month', min: 1, max: 12, names: MONTH_NAMES, namesFrom: 1 },
  dow: { name: 'day of week', min: 0, max: 7, names: DAY_NAMES, namesFrom: 0 },
};

function parseValue(text: string, spec: FieldSpec): number {
  const lower = text.toLowerCase();
  if (spec.names) {
    const i = spec.names.indexOf(lower);
    if (i >= 0) return i + (spec.namesFrom ?? 0);
  }
  if (!/^\d+$/.test(text)) throw new CronSyntaxError(`${spec.name} "${text}" is not a number`);
  const n = Number(text);
  if (n < spec.min || n > spec.max) throw new CronSyntaxError(`${spec.name} ${n} is outside ${spec.min}-${spec.max}`);
  return n;
}

function parseField(text: string, spec: FieldSpec): number[] {
  const out = new Set<number>();
  if (text === '') throw new CronSyntaxError(`empty ${spec.name} field`);
  for (const part of text.split(',')) {
    const m = /^([^/]+)(?:\/(\d+))?$/.exec(part);
    if (!m) throw new CronSyntaxError(`${spec.name} "${part}" is not valid`);
    const range = m[1] as string;
    const step = m[2] === undefined ? 1 : Number(m[2]);
    if (step < 1) throw new CronSyntaxError(`${spec.name} step must be at least 1`);
    let lo: number;
    let hi: number;
    if (range === '*') {
      lo = spec.min;
      hi = spec.max;
    } else if (range.includes('-')) {
      const [a, b, ...rest] = range.split('-');
      if (rest.length || a === undefined || b === undefined)
        throw new CronSyntaxError(`${spec.name} "${part}" is not valid`);
      lo = parseValue(a, spec);
      hi = parseValue(b, spec);
      if (hi < lo) throw new CronSyntaxError(`${spec.name} range ${range} runs backwards`);
    } else {
      lo = parseValue(range, spec);
      hi = m[2] === undefined ? lo : spec.max;
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return [...out].sort((a, b) => a - b);
}

/** Parses an expression or throws a CronSyntaxError saying what is wrong. */
export function parseCron(source: string, { allowSeconds = true }: { allowSeconds?: boolean } = {}): CronExpression {
  const trimmed = source.trim();
  const normalized = MACROS[trimmed.toLowerCase()] ?? trimmed;
  if (normalized.startsWith('@')) throw new CronSyntaxError(`unknown macro ${trimmed}`);
  const fields = normalized.split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6)
    throw new CronSyntaxError(`needs 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}`);
  const hasSeconds = fields.length === 6;
  if (hasSeconds && !allowSeconds)
    throw new CronSyntaxError('has a seconds field, which system cron cannot run (use webjobs schedule)');
  const [sec, min, hour, dom, month, dow] = (hasSeconds ? fields : ['0', ...fields]) as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const daysOfWeek = [...new Set(parseField(dow, SPECS.dow as FieldSpec).map((d) => d % 7))].sort((a, b) => a - b);
  return {
    source,
    normalized: fields.join(' '),
    hasSeconds,
    seconds: parseField(sec, SPECS.second as FieldSpec),
    minutes: parseField(min, SPECS.minute as FieldSpec),
    hours: parseField(hour, SPECS.hour as FieldSpec),
    daysOfMonth: parseField(dom, SPECS.dom as FieldSpec),
    months: parseField(month, SPECS.month as FieldSpec),
    daysOfWeek,
    domRestricted: !dom.startsWith('*'),
    dowRestricted: !dow.startsWith('*'),
    fields,
  };
}

/** Cron's day rule: when both day fields are restricted, either may match (vixie cron). */
function dayMatches(e: CronExpression, dom: number, dow: number): boolean {
  const a = e.daysOfMonth.includes(dom);
  const b = e.daysOfWeek.includes(dow);
  if (e.domRestricted && e.dowRestricted) return a || b;
  return a && b;
}

// ---- wall-clock arithmetic in a time zone -------------------------------------------------

const fmtCache = new Map<string, Intl.DateTimeFormat>();
function wallOf(instantMs: number, tz: string): number {
  let f = fmtCache.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    fmtCache.set(tz, f);
  }
  const p: Record<string, number> = {};
  for (const x of f.formatToParts(new Date(instantMs))) if (x.type !== 'literal') p[x.type] = Number(x.value);
  return (
    Date.UTC(p.year ?? 1970, (p.month ?? 1) - 1, p.day ?? 1, p.hour ?? 0, p.minute ?? 0, p.second ?? 0) +
    (((instantMs % 1000) + 1000) % 1000)
  );
}

/** The instant whose wall-clock time in `tz` is `wallMs`; null when that wall time does not exist (DST gap). */
function instantOf(wallMs: number, tz: string): number | null {
  let guess = wallMs - (wallOf(wallMs, tz) - wallMs);
  for (let i = 0; i < 3; i++) {
    const diff = wallOf(guess, tz) - wallMs;
    if (diff === 0) {
      // Of two instants with this wall time (DST fall-back), cron runs at the first.
      const earlier = guess - 3_600_000;
      return wallOf(earlier, tz) === wallMs ? earlier : guess;
    }
    guess -= diff;
  }
  return null;
}

const MINUTE = 60_000;
const DAY = 86_400_000;

/** The first fire time strictly after `from`, within `horizonDays`. */
export function nextRun(e: CronExpression, from: Date, tz: string, horizonDays = 400): Date | null {
  const fromMs = from.getTime();
  let wall = Math.floor(wallOf(fromMs, tz) / MINUTE) * MINUTE;
  const end = wall + horizonDays * DAY;
  while (wall <= end) {
    const d = new Date(wall);
    if (!e.months.includes(d.getUTCMonth() + 1) || !dayMatches(e, d.getUTCDate(), d.getUTCDay())) {
      wall = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
      continue;
    }
    if (!e.hours.includes(d.getUTCHours())) {
      wall = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours() + 1);
      continue;
    }
    if (e.minutes.includes(d.getUTCMinutes())) {
      for (const s of e.seconds) {
        const at = instantOf(wall + s * 1000, tz);
        if (at !== null && at > fromMs) return new Date(at);
      }
    }
    wall += MINUTE;
  }
  return null;
}

/** The last fire time at or before `at`, looking back at most `horizonMs`. */
export function previousRun(e: CronExpression, at: Date, tz: string, horizonMs = 400 * DAY): Date | null {
  const atMs = at.getTime();
  let wall = Math.floor(wallOf(atMs, tz) / MINUTE) * MINUTE;
  const end = wall - horizonMs - DAY;
  while (wall >= end) {
    const d = new Date(wall);
    if (!e.months.includes(d.getUTCMonth() + 1) || !dayMatches(e, d.getUTCDate(), d.getUTCDay())) {
      wall = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - MINUTE;
      continue;
    }
    if (!e.hours.includes(d.getUTCHours())) {
      wall = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours()) - MINUTE;
      continue;
    }
    if (e.minutes.includes(d.getUTCMinutes())) {
      for (const s of [...e.seconds].reverse()) {
        const t = instantOf(wall + s * 1000, tz);
        if (t !== null && t <= atMs) return atMs - t <= horizonMs ? new Date(t) : null;
      }
    }
    wall -= MINUTE;
  }
  return null;
}

/** The longest gap between consecutive runs over the next few runs: "its interval". */
export function intervalMs(e: CronExpression, from: Date, tz: string): number {
  let prev = nextRun(e, from, tz);
  if (!prev) return Infinity;
  let longest = 0;
  for (let i = 0; i < 8; i++) {
    const n = nextRun(e, prev, tz);
    if (!n) break;
    longest = Math.max(longest, n.getTime() - prev.getTime());
    prev = n;
  }
  return longest || Infinity;
}

// ---- in words ------------------------------------------------------------------------------

const pad = (n: number) => String(n).padStart(2, '0');
const isAll = (f: string) => f === '*';
const single = (f: string) => /^\d+$/.test(f);

function listWords(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** "every day at 03:00", "every Monday at 08:00", … or the expression itself when it is unusual. */
export function describeCron(e: CronExpression): string {
  const [sec, min, hour, dom, month, dow] = (e.hasSeconds ? e.fields : ['0', ...e.fields]) as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (e.hasSeconds && sec !== '0') {
    const m = /^\*\/(\d+)$/.exec(sec);
    if ([min, hour, dom, month, dow].every(isAll))
      return sec === '*' ? 'every second' : m ? `every ${m[1]} seconds` : `at seconds ${sec} of every minute`;
    return `cron "${e.normalized}"`;
  }
  if (!isAll(month)) return `cron "${e.normalized}"`;
  const stepMin = /^\*\/(\d+)$/.exec(min);
  if (stepMin && isAll(hour) && isAll(dom) && isAll(dow)) return `every ${stepMin[1]} minutes`;
  if (isAll(min) && isAll(hour) && isAll(dom) && isAll(dow)) return 'every minute';
  if (single(min) && isAll(hour) && isAll(dom) && isAll(dow)) return `every hour at :${pad(Number(min))}`;
  if (!single(min) || !(single(hour) || /^\d+(,\d+)+$/.test(hour))) return `cron "${e.normalized}"`;
  const times = listWords(e.hours.map((h) => `${pad(h)}:${pad(Number(min))}`));
  if (isAll(dom) && isAll(dow)) return `every day at ${times}`;
  if (isAll(dom) && e.dowRestricted) {
    if (e.daysOfWeek.join(',') === '1,2,3,4,5') return `every weekday at ${times}`;
    return `every ${listWords(e.daysOfWeek.map((d) => WEEKDAYS[d] as string))} at ${times}`;
  }
  if (e.domRestricted && isAll(dow)) {
    const days = e.daysOfMonth.map((d) => (d === 1 ? '1st' : d === 2 ? '2nd' : d === 3 ? '3rd' : `${d}th`));
    return `on the ${listWords(days)} of every month at ${times}`;
  }
  return `cron "${e.normalized}"`;
}
