import type { Config } from '../../config/config.js';
import type { Settings } from '../../config/settings.js';
import { UsageError } from '../../util/errors.js';
import { addDays, daysBetween, parseDay } from '../../util/time.js';
import { defineJob, runFrom } from '../definition.js';
import { intInRange } from '../option-ranges.js';
import { PURGE_OPTIONS, resolvePurgeOptions, type PurgeOptions } from '../purge-options.js';
import { checkWebsiteTemplate, type WebsiteOutcome } from './website-stats.js';

export interface AggregateOptions extends PurgeOptions {
  /** One day (default: yesterday in the app's time zone). */
  date?: string;
  /** A backfill range (both days included); --to defaults to yesterday. */
  from?: string;
  to?: string;
  /** Overrides the setting cache-statistics-retention-days. */
  retentionDays?: number;
  /** Skip the retention purge. */
  noPurge?: boolean;
  /** Full VACUUM (SQLite) / OPTIMIZE TABLE (MariaDB) after the purge. */
  vacuum?: boolean;
  /** Only this website's statistics. */
  website?: number;
  /** Skip the per-website statistics. */
  noWebsites?: boolean;
}

/** The run's options, checked, with the retention from the settings when not given. */
export interface Resolved {
  date?: string;
  from?: string;
  to?: string;
  retentionDays: number;
  noPurge: boolean;
  vacuum: boolean;
  website?: number;
  noWebsites: boolean;
  purge: PurgeOptions;
}

export interface AggregateResult {
  from: string;
  to: string;
  daysRolledUp: number;
  /** Days in the range whose summary was kept because their detail is already being purged. */
  keptPurgedDays: string[];
  rowsRead: number;
  days: Array<{ date: string; requests: number }>;
  retention: {
    retentionDays: number;
    cutoff: string;
    skipped: boolean;
    ranges: Array<{ from: string; toExclusive: string }>;
    rowsPurged: number;
    chunks: number;
    longestStatementMs: number;
    keptUnsummarizedDays: string[];
    stoppedEarly: string | null;
    remaining: number;
    optimized: string | null;
  };
  websitesDone: number;
  websitesFailed: number;
  websites: WebsiteOutcome[];
}

/** Most days one run may cover (a backfill of ten years still fits). */
const MAX_RANGE_DAYS = 3660;

/** The days to roll up: the options' day or range, else yesterday (`today` in the app's time zone). */
export function rollUpRange(
  options: Pick<AggregateOptions, 'date' | 'from' | 'to'>,
  today: string,
): { from: string; to: string } {
  const yesterday = addDays(today, -1);
  if (options.date !== undefined && (options.from !== undefined || options.to !== undefined))
    throw new UsageError('--date cannot be combined with --from/--to');
  if (options.to !== undefined && options.from === undefined) throw new UsageError('--to needs --from');
  const from = parseDay(options.date ?? options.from ?? yesterday, options.date !== undefined ? '--date' : '--from');
  const to = parseDay(
    options.date ?? options.to ?? (options.from !== undefined ? yesterday : from),
    options.date !== undefined ? '--date' : '--to',
  );
  if (from > to) throw new UsageError(`--from ${from} is after --to ${to}`);
  if (daysBetween(from, to).length > MAX_RANGE_DAYS)
    throw new UsageError(`--from/--to covers more than ${MAX_RANGE_DAYS} days`);
  return { from, to };
}

function resolve(config: Config, settings: Settings, options: AggregateOptions): Resolved {
  const purge = resolvePurgeOptions(config, options);
  if (options.date !== undefined) parseDay(options.date, '--date');
  if (options.from !== undefined) parseDay(options.from, '--from');
  if (options.to !== undefined) parseDay(options.to, '--to');
  if (options.date !== undefined && (options.from !== undefined || options.to !== undefined))
    throw new UsageError('--date cannot be combined with --from/--to');
  if (options.to !== undefined && options.from === undefined) throw new UsageError('--to needs --from');
  if (options.from !== undefined && options.to !== undefined && options.from > options.to)
    throw new UsageError(`--from ${options.from} is after --to ${options.to}`);
  if (options.retentionDays !== undefined && !Number.isInteger(options.retentionDays))
    throw new UsageError('--retention-days must be a whole number of days, at least 1');
  checkWebsiteTemplate(config);
  return {
    date: options.date,
    from: options.from,
    to: options.to,
    retentionDays:
      intInRange(options.retentionDays, '--retention-days', 1, 36500) ??
      settings.int('cache-statistics-retention-days'),
    noPurge: Boolean(options.noPurge),
    vacuum: Boolean(options.vacuum),
    website: intInRange(options.website, '--website', 1, Number.MAX_SAFE_INTEGER),
    noWebsites: Boolean(options.noWebsites),
    purge,
  };
}

export const aggregateStatsJob = defineJob<AggregateOptions, Resolved, AggregateResult>({
  name: 'aggregate-stats',
  description:
    'Roll api_requests up into api_statistics_summary (one row a day), purge detail past retention, merge per-website statistics',
  schedule: {
    cron: '0 2 * * *',
    args: [],
    purpose: "roll yesterday's API requests up into api_statistics_summary",
  },
  settingKeys: ['cache-statistics-retention-days'],
  timeoutSeconds: 3600,
  examples: [
    'webjobs aggregate-stats',
    'webjobs aggregate-stats --from 2026-10-01 --to 2026-10-31 --no-purge',
    'webjobs aggregate-stats --dry-run --json',
  ],
  options: [
    { flags: '--date <YYYY-MM-DD>', description: 'the day to roll up (default: yesterday in config timezone)' },
    { flags: '--from <YYYY-MM-DD>', description: 'first day of a backfill range' },
    { flags: '--to <YYYY-MM-DD>', description: 'last day of a backfill range (default: yesterday)' },
    {
      flags: '--retention-days <n>',
      description: 'keep this many days of detail (default: setting cache-statistics-retention-days, 30)',
      type: 'int',
    },
    {
      flags: '--no-purge',
      description: 'roll up only; delete no detail rows',
      key: 'noPurge',
      convert: (purge: boolean) => !purge,
    },
    { flags: '--vacuum', description: 'after the purge, VACUUM (SQLite) / OPTIMIZE TABLE (MariaDB) to reclaim space' },
    { flags: '--website <id>', description: 'per-website statistics for this website only', type: 'int' },
    {
      flags: '--no-websites',
      description: 'skip the per-website statistics',
      key: 'noWebsites',
      convert: (websites: boolean) => !websites,
    },
    ...PURGE_OPTIONS,
  ],
  resolve,
  run: runFrom(() => import('./run.js')),
});

export default aggregateStatsJob;
