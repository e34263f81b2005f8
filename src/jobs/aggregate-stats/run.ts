import { readState, writeState } from '../../db/state.js';
import { countMatching, purgeKeyFor } from '../../db/purge.js';
import { optimizeTable } from '../../db/dialect.js';
import type { JobContext } from '../../runner/job.js';
import { PartialFailure, throwIfAborted } from '../../util/errors.js';
import { addDays, daysBetween, formatDuration, formatLocalDate } from '../../util/time.js';
import { runPurge } from '../purge-run.js';
import { dayRange, planRetention, readSummary, requestsPerDay, rollUp, statsNames, type StatsNames } from './rollup.js';
import { processWebsite, websitesToProcess } from './website-stats.js';
import { rollUpRange, type AggregateResult, type Resolved } from './index.js';

export async function run(ctx: JobContext, options: Resolved): Promise<AggregateResult> {
  const budgetStart = ctx.clock.now().getTime();
  const today = formatLocalDate(ctx.clock.now(), ctx.timeZone);
  const { from, to } = rollUpRange(options, today);
  const retentionDays = options.retentionDays;
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
      skipped: options.noPurge,
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
  options: Resolved,
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
    const idColumn = ctx.tables.column('api_requests', 'id');
    // Ids grow with time: the first row after the range bounds the walk, so it does not read the
    // retained rows. A row written late with an older time and a higher id waits for a later run.
    const key = await purgeKeyFor(ctx.db, n.requests, idColumn);
    const next = await ctx.db.queryOne<{ id: unknown }>(
      `SELECT ${key.rowid ? 'rowid' : ctx.db.quote(idColumn)} AS id FROM ${ctx.db.quote(n.requests)} WHERE ${c} >= ? ORDER BY ${c} LIMIT 1`,
      [params[1]],
    );
    const res = await runPurge(
      ctx,
      {
        table: n.requests,
        keyColumn: idColumn,
        where,
        params,
        what: `${n.requests} rows`,
        ceiling: next?.id ?? undefined,
      },
      options.purge,
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
    r.optimized = await optimizeTable(ctx.db, n.requests, options.vacuum);
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
