/**
 * Grandfather-father-son retention, as restic's `forget` does it: each rule keeps the newest
 * backup of each of its last N periods (days, ISO weeks, months, years) that hold a backup; a
 * backup kept by any rule stays. A pure function of the list, the rules and the time: it reads
 * and deletes nothing, so the run, `--dry-run` and `backups --dry-run-retention` agree.
 */

export interface RetentionRules {
  /** The N newest backups. */
  keepLast?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
  /** Every backup taken within this many days before now (config backup.retentionDays: the default rule). */
  keepWithinDays?: number;
}

export const RULE_NAMES = [
  'keepLast',
  'keepDaily',
  'keepWeekly',
  'keepMonthly',
  'keepYearly',
  'keepWithinDays',
] as const;

export interface RetentionCandidate {
  name: string;
  /** Backups of one type are weighed against each other only. */
  type: string;
  /** Local wall-clock time, `YYYY-MM-DD HH:MM:SS` (from the file's name). */
  time: string;
  /** false: known damaged (never counts as the newest good backup); default true. */
  good?: boolean;
}

export interface RetentionDecision {
  name: string;
  type: string;
  time: string;
  keep: boolean;
  /** Why it stays (every rule that keeps it), or why it goes. */
  reasons: string[];
}

type Bucket = (time: string) => string;

const day: Bucket = (t) => t.slice(0, 10);
const month: Bucket = (t) => t.slice(0, 7);
const year: Bucket = (t) => t.slice(0, 4);

/** ISO 8601 week, `YYYY-Www` (a week belongs to the year holding its Thursday). */
export const isoWeek: Bucket = (t) => {
  const date = new Date(Date.UTC(Number(t.slice(0, 4)), Number(t.slice(5, 7)) - 1, Number(t.slice(8, 10))));
  const weekday = date.getUTCDay() || 7;
  date.setUTCDate(date.getUTCDate() + 4 - weekday);
  const yearStart = Date.UTC(date.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((date.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${date.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
};

const PERIOD_RULES: { rule: keyof RetentionRules; label: string; bucket: Bucket }[] = [
  { rule: 'keepDaily', label: 'daily', bucket: day },
  { rule: 'keepWeekly', label: 'weekly', bucket: isoWeek },
  { rule: 'keepMonthly', label: 'monthly', bucket: month },
  { rule: 'keepYearly', label: 'yearly', bucket: year },
];

/** `now` less `days`, on the same local wall clock as the names. */
function daysBefore(now: string, days: number): string {
  const ms = Date.parse(now.replace(' ', 'T') + 'Z') - days * 86_400_000;
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

export function describeRules(rules: RetentionRules): string {
  const parts = RULE_NAMES.filter((r) => rules[r] !== undefined).map((r) => `${r} ${rules[r]}`);
  return parts.length ? parts.join(', ') : 'no rule';
}

/**
 * Decides, for each backup, keep or delete and why. `rulesFor(type)` gives each type its own
 * rules; `now` is local `YYYY-MM-DD HH:MM:SS`. Whatever the rules, the newest good backup of a
 * type is kept. Decisions come back newest first within each type.
 */
export function planRetention(
  backups: readonly RetentionCandidate[],
  rulesFor: (type: string) => RetentionRules,
  now: string,
): RetentionDecision[] {
  const types = [...new Set(backups.map((b) => b.type))];
  return types.flatMap((type) =>
    planOneType(
      backups.filter((b) => b.type === type),
      rulesFor(type),
      now,
    ),
  );
}

function planOneType(backups: RetentionCandidate[], rules: RetentionRules, now: string): RetentionDecision[] {
  // Newest first; equal times by name, as listBackups orders them.
  const sorted = [...backups].sort((a, b) =>
    a.time === b.time ? b.name.localeCompare(a.name) : b.time.localeCompare(a.time),
  );
  const reasons = sorted.map(() => [] as string[]);
  sorted.forEach((b, i) => {
    if (rules.keepLast !== undefined && i < rules.keepLast) reasons[i]?.push(`last ${rules.keepLast}`);
  });
  for (const { rule, label, bucket } of PERIOD_RULES) {
    const limit = rules[rule];
    if (!limit) continue;
    let taken = 0;
    let previous: string | undefined;
    sorted.forEach((b, i) => {
      const period = bucket(b.time);
      if (taken >= limit || period === previous) return;
      previous = period;
      taken++;
      reasons[i]?.push(`${label} ${period}`);
    });
  }
  if (rules.keepWithinDays !== undefined) {
    const cutoff = daysBefore(now, rules.keepWithinDays);
    sorted.forEach((b, i) => {
      if (b.time >= cutoff) reasons[i]?.push(`within ${rules.keepWithinDays} days`);
    });
  }
  const newestGood = sorted.findIndex((b) => b.good !== false);
  if (newestGood >= 0) reasons[newestGood]?.push('newest good backup of its type');
  return sorted.map((b, i) => {
    const why = reasons[i] as string[];
    return {
      name: b.name,
      type: b.type,
      time: b.time,
      keep: why.length > 0,
      reasons: why.length ? why : [`kept by no rule (${describeRules(rules)})`],
    };
  });
}
