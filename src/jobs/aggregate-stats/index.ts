import type { Config } from '../../config/config.js';
import { readState, writeState } from '../../db/state.js';
import { countMatching } from '../../db/purge.js';
import { optimizeTable } from '../../db/dialect.js';
import type { JobContext, JobDefinition } from '../../runner/job.js';
import { PartialFailure, throwIfAborted, UsageError } from '../../util/errors.js';
import { addDays, daysBetween, formatDuration, formatLocalDate, parseDay } from '../../util/time.js';
import { checkPurgeConfig, checkPurgeOptions, runPurge, type PurgeOptions } from '../purge-options.js';
import { dayRange, planRetention, readSummary, requestsPerDay, rollUp, statsNames, type StatsNames } from './rollup.js';
import {
  checkWebsiteTemplate,
  processWebsite,
  websiteStatuses,
  websitesToProcess,
  type WebsiteOutcome,
} from './website-stats.js';

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

export function resolveDays(options: AggregateOptions, today: string): { from: string; to: string } {
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

function checkOptions(config: Config, options: AggregateOptions): void {
  checkPurgeOptions(options);
  checkPurgeConfig(config);
  if (options.date !== undefined) parseDay(options.date, '--date');
  if (options.from !== undefined) parseDay(options.from, '--from');
  if (options.to !== undefined) parseDay(options.to, '--to');
  if (options.date !== undefined && (options.from !== undefined || options.to !== undefined))
    throw new UsageError('--date cannot be combined with --from/--to');
  if (options.to !== undefined && options.from === undefined) throw new UsageError('--to needs --from');
  if (options.from !== undefined && options.to !== undefined && options.from > options.to)
    throw new UsageError(`--from ${options.from} is after --to ${options.to}`);
  if (options.retentionDays !== undefined && (!Number.isInteger(options.retentionDays) || options.retentionDays < 1))
    throw new UsageError('--retention-days must be a whole number of days, at least 1');
  checkWebsiteTemplate(config);
  websiteStatuses(config);
}

async function run(ctx: JobContext, options: AggregateOptions): Promise<AggregateResult> {
  const budgetStart = ctx.clock.now().getTime();
  const today = formatLocalDate(ctx.clock.now(), ctx.timeZone);
  const { from, to } = resolveDays(options, today);
  // Read (and check) the setting first: a malformed value stops the run before anything is written.
  const retentionDays = options.retentionDays ?? ctx.settings.int('cache-statistics-retention-days');
  const n = statsNames(ctx.db, ctx.tables);
  for (const t of [n.requests, n.summary]) {
    if (!(await ctx.db.tableExists(t)))
      throw new Error(`table ${t} does not exist in ${ctx.db.description} (run webjobs init --schema)`);
  }
  const cutoff = addDays(today, -retentionDays);
  const result: AggregateResult = {
    from,
    to,
    daysRolledUp: 0,
    keptPurgedDays: [],
    rowsRead: 0,
    days: [],
    retention: {
      retentionDays,
      cutoff,
      skipped: Boolean(options.noPurge),
      ranges: [],
      rowsPurged: 0,
      chunks: 0,
      longestStatementMs: 0,
      keptUnsummarizedDays: [],
      stoppedEarly: null,
      remaining: 0,
      optimized: null,
    },
    websitesDone: 0,
    websitesFailed: 0,
    websites: [],
  };
  const span = from === to ? from : `${from} .. ${to}`;

  // 1. Roll-up, computed by the engine.
  if (ctx.dryRun) {
    const perDay = await requestsPerDay(ctx.db, n, from, to);
    result.days = daysBetween(from, to).map((d) => ({ date: d, requests: perDay.get(d) ?? 0 }));
    result.rowsRead = result.days.reduce((s, d) => s + d.requests, 0);
    result.daysRolledUp = result.days.length;
    ctx.logger.info(`would roll up ${span}: ${result.rowsRead} request rows into ${result.days.length} summary row(s)`);
    for (const d of result.days) ctx.logger.info(`  ${d.date}: ${d.requests} requests`);
  } else {
    ctx.logger.step(`rolling up ${n.requests} into ${n.summary} for ${span}`);
    const t0 = performance.now();
    result.keptPurgedDays = await rollUpUnpurged(ctx, n, from, to);
    const kept = new Set(result.keptPurgedDays);
    const rows = (await readSummary(ctx.db, n, from, to)).filter((r) => !kept.has(r.date));
    result.days = rows.map((r) => ({ date: r.date, requests: r.total_requests }));
    result.daysRolledUp = rows.length;
    result.rowsRead = rows.reduce((s, r) => s + r.total_requests, 0);
    ctx.logger.info(
      `rolled up ${result.rowsRead} request rows into ${rows.length} day(s) in ${formatDuration(performance.now() - t0)}`,
    );
  }
  throwIfAborted(ctx.signal);

  // 2. Retention: only days that have a summary row.
  if (!options.noPurge) await purgeDetail(ctx, n, options, result, budgetStart, { from, to });

  // 3. Per-website statistics.
  if (!options.noWebsites) {
    const sites = await websitesToProcess(ctx, options.website);
    const days = daysBetween(from, to);
    if (sites.length) ctx.logger.step(`website statistics for ${sites.length} website(s), ${span}`);
    for (const site of sites) {
      throwIfAborted(ctx.signal);
      const outcome = await processWebsite(ctx, site, days);
      result.websites.push(outcome);
      if (outcome.error) {
        result.websitesFailed++;
        ctx.warn(`website ${site.id} (${site.name}) failed: ${outcome.error}`);
      } else {
        result.websitesDone++;
        ctx.logger.info(
          `website ${site.id} (${site.name}): ${ctx.dryRun ? `would merge statistics for ${outcome.days} day(s)` : `statistics merged for ${outcome.days} day(s)`}`,
        );
      }
    }
  }

  if (result.websitesFailed > 0 && !ctx.dryRun) {
    const failed = result.websites.filter((w) => w.error).map((w) => `${w.id} (${w.name})`);
    throw new PartialFailure(
      `statistics failed for ${result.websitesFailed} of ${result.websites.length} website(s): ${failed.join(', ')}`,
      result,
    );
  }
  return result;
}

const purgeMarkName = (n: StatsNames) => `purged-before:${n.requests}`;

/**
 * Rolls up [from, to] except the days whose detail the retention purge has begun to delete
 * (before its mark) and that already have a summary: re-rolling those would replace a full
 * summary with one of the rows that are left. Returns the days kept as they were.
 */
async function rollUpUnpurged(ctx: JobContext, n: StatsNames, from: string, to: string): Promise<string[]> {
  const purgedBefore = await readState(ctx.db, purgeMarkName(n));
  if (!purgedBefore || from >= purgedBefore) {
    await rollUp(ctx.db, n, from, to, ctx.signal);
    return [];
  }
  const lastPurgeable = addDays(purgedBefore, -1) < to ? addDays(purgedBefore, -1) : to;
  const summarized = new Set((await readSummary(ctx.db, n, from, lastPurgeable)).map((r) => r.date));
  const kept: string[] = [];
  for (const day of daysBetween(from, lastPurgeable)) {
    if (summarized.has(day)) kept.push(day);
    else await rollUp(ctx.db, n, day, day, ctx.signal);
  }
  if (to >= purgedBefore) await rollUp(ctx.db, n, purgedBefore, to, ctx.signal);
  if (kept.length)
    ctx.logger.info(
      `kept the summaries of ${kept.length} day(s) before ${purgedBefore}: their detail rows are already being purged`,
    );
  return kept;
}

async function purgeDetail(
  ctx: JobContext,
  n: StatsNames,
  options: AggregateOptions,
  result: AggregateResult,
  budgetStart: number,
  rolled: { from: string; to: string },
): Promise<void> {
  const r = result.retention;
  // In a dry run the days being rolled up now have no summary row yet, but would have one.
  const plan = await planRetention(
    ctx.db,
    n,
    r.cutoff,
    ctx.dryRun ? new Set(daysBetween(rolled.from, rolled.to)) : undefined,
  );
  r.ranges = plan.ranges;
  r.keptUnsummarizedDays = plan.unsummarized;
  if (plan.unsummarized.length) {
    const first = plan.unsummarized[0]!;
    const last = plan.unsummarized[plan.unsummarized.length - 1]!;
    ctx.warn(
      `kept ${plan.unsummarized.length} day(s) of ${n.requests} past retention that have no summary row (${first}${first === last ? '' : ` .. ${last}`}); roll them up with --from ${first} --to ${last}`,
    );
  }
  const c = n.req('created_at');
  const where = `${c} >= ? AND ${c} < ?`;
  const purgeEnd = plan.ranges.reduce((end, range) => (range.toExclusive > end ? range.toExclusive : end), '');
  if (!ctx.dryRun && purgeEnd) {
    // Committed before the first delete: from now on these days' summaries are the only full record.
    const mark = purgeMarkName(n);
    const before = await readState(ctx.db, mark);
    if (!before || before < purgeEnd) await writeState(ctx.db, mark, purgeEnd);
  }
  for (const range of plan.ranges) {
    throwIfAborted(ctx.signal);
    const params = [dayRange(range.from, range.from)[0], `${range.toExclusive} 00:00:00`];
    const label = `${range.from} .. ${addDays(range.toExclusive, -1)}`;
    if (ctx.dryRun) {
      const count = await countMatching(ctx.db, n.requests, where, params);
      r.rowsPurged += count;
      ctx.logger.info(
        `would delete ${count} ${n.requests} rows of ${label} (older than ${r.retentionDays} days, rolled up)`,
      );
      continue;
    }
    ctx.logger.step(`deleting ${n.requests} rows of ${label} (older than ${r.retentionDays} days, rolled up)`);
    // Walked by (created_at, id): a row written late (old time, higher id) is purged with its day.
    const res = await runPurge(
      ctx,
      {
        table: n.requests,
        keyColumn: ctx.tables.column('api_requests', 'id'),
        orderColumn: ctx.tables.column('api_requests', 'created_at'),
        where,
        params,
        what: `${n.requests} rows`,
      },
      options,
      budgetStart,
    );
    r.rowsPurged += res.deleted;
    r.chunks += res.chunks;
    r.longestStatementMs = Math.max(r.longestStatementMs, Math.round(res.longestStatementMs));
    if (res.stoppedEarly) {
      r.stoppedEarly = res.stoppedEarly;
      r.remaining = res.remaining;
      ctx.warn(
        `stopped after --max-runtime with ${res.remaining} ${n.requests} rows past retention left; the next run continues`,
      );
      break;
    }
  }
  if (!ctx.dryRun && r.rowsPurged > 0) {
    const full = Boolean(options.vacuum);
    await optimizeTable(ctx.db, n.requests, full);
    r.optimized =
      ctx.db.dialect === 'sqlite' ? (full ? 'VACUUM' : 'PRAGMA optimize') : full ? 'OPTIMIZE TABLE' : 'ANALYZE TABLE';
    ctx.logger.info(
      `deleted ${r.rowsPurged} ${n.requests} rows in ${r.chunks} chunk(s), longest statement ${r.longestStatementMs} ms; ${r.optimized} done`,
    );
  } else if (ctx.dryRun) {
    ctx.logger.info(
      `would delete ${r.rowsPurged} ${n.requests} rows before ${r.cutoff}${options.vacuum ? ', then a full vacuum' : ''}`,
    );
  } else {
    ctx.logger.info(`retention: nothing of ${n.requests} before ${r.cutoff} to delete`);
  }
}

export const aggregateStatsJob: JobDefinition<AggregateOptions, AggregateResult> = {
  name: 'aggregate-stats',
  settingKeys: ['cache-statistics-retention-days'],
  description:
    'Roll api_requests up into api_statistics_summary, purge detail past retention, merge per-website statistics',
  timeoutSeconds: 3600,
  checkConfig: checkOptions,
  run,
};
