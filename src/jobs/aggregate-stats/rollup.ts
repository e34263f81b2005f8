import { countIf, dayOf, roundSql, upsertSelectSql, upsertSql } from '../../db/dialect.js';
import type { Db } from '../../db/types.js';
import type { TableMap } from '../../config/tables.js';
import { addDays, daysBetween } from '../../util/time.js';

export const SUMMARY_COLUMNS = [
  'date',
  'total_requests',
  'cache_hits',
  'error_count',
  'avg_response_ms',
  'max_response_ms',
  'unique_widgets',
] as const;

/** Names of the detail and summary tables after config remapping, checked and ready to quote. */
export interface StatsNames {
  requests: string;
  summary: string;
  req: (column: string) => string;
  sum: (column: string) => string;
}

export function statsNames(db: Db, tables: TableMap): StatsNames {
  const requests = tables.table('api_requests');
  const summary = tables.table('api_statistics_summary');
  return {
    requests,
    summary,
    req: (c) => db.quote(tables.column('api_requests', c)),
    sum: (c) => tables.column('api_statistics_summary', c),
  };
}

/** The half-open range of date-times that covers the days `from`..`to` (local time, as stored). */
export function dayRange(from: string, to: string): [string, string] {
  return [`${from} 00:00:00`, `${addDays(to, 1)} 00:00:00`];
}

/**
 * The grouped SELECT that computes the summary rows of a range: one row per day that has
 * requests. The bench compares the job with exactly this statement run bare.
 */
export function rollupSelect(db: Db, n: StatsNames): string {
  const day = dayOf(db.dialect, n.req('created_at'));
  return [
    `SELECT ${day}, COUNT(*), ${countIf(`${n.req('cache_hit')} <> 0`)}, ${countIf(`${n.req('status_code')} >= 500`)},`,
    ` ${roundSql(`AVG(${n.req('response_time_ms')})`, 2)}, MAX(${n.req('response_time_ms')}), COUNT(DISTINCT ${n.req('widget_id')})`,
    ` FROM ${db.quote(n.requests)} WHERE ${n.req('created_at')} >= ? AND ${n.req('created_at')} < ? GROUP BY ${day}`,
  ].join('');
}

/** The most days one grouped statement covers; longer backfills run as several statements. */
const MAX_DAYS_PER_STATEMENT = 31;

/**
 * Rolls the days `from`..`to` up into the summary table, replacing their rows: first a zero
 * row for every day (so a day without requests has a row, and a day whose requests are gone
 * is reset), then one grouped INSERT … SELECT per stretch of up to 31 days, computed by the
 * engine. Each stretch is one transaction: readers see the old rows or the new ones.
 */
export async function rollUp(db: Db, n: StatsNames, from: string, to: string, signal?: AbortSignal): Promise<void> {
  const columns = SUMMARY_COLUMNS.map((c) => n.sum(c));
  const key = [n.sum('date')];
  const all = daysBetween(from, to);
  for (let i = 0; i < all.length; i += MAX_DAYS_PER_STATEMENT) {
    signal?.throwIfAborted();
    const days = all.slice(i, i + MAX_DAYS_PER_STATEMENT);
    const [start, end] = dayRange(days[0]!, days[days.length - 1]!);
    await db.transaction(async (tx) => {
      const zero = upsertSql(tx, n.summary, columns, key, undefined, days.length);
      await tx.execute(
        zero,
        days.flatMap((d) => [d, 0, 0, 0, null, null, 0]),
      );
      await tx.execute(upsertSelectSql(tx, n.summary, columns, key, rollupSelect(tx, n)), [start, end]);
    });
  }
}

interface SummaryRow {
  date: string;
  total_requests: number;
  cache_hits: number;
  error_count: number;
  avg_response_ms: number | null;
  max_response_ms: number | null;
  unique_widgets: number;
}

export async function readSummary(db: Db, n: StatsNames, from: string, to: string): Promise<SummaryRow[]> {
  const cols = SUMMARY_COLUMNS.map((c) => `${db.quote(n.sum(c))} AS ${db.quote(c)}`).join(', ');
  const d = db.quote(n.sum('date'));
  const rows = await db.query<SummaryRow>(
    `SELECT ${cols} FROM ${db.quote(n.summary)} WHERE ${d} >= ? AND ${d} <= ? ORDER BY ${d}`,
    [from, to],
  );
  return rows.map((r) => ({
    date: String(r.date).slice(0, 10),
    total_requests: Number(r.total_requests),
    cache_hits: Number(r.cache_hits),
    error_count: Number(r.error_count),
    avg_response_ms: r.avg_response_ms === null ? null : Number(r.avg_response_ms),
    max_response_ms: r.max_response_ms === null ? null : Number(r.max_response_ms),
    unique_widgets: Number(r.unique_widgets),
  }));
}

/** Requests per day in the range, for --dry-run (what would be rolled up). */
export async function requestsPerDay(db: Db, n: StatsNames, from: string, to: string): Promise<Map<string, number>> {
  const [start, end] = dayRange(from, to);
  const day = dayOf(db.dialect, n.req('created_at'));
  const rows = await db.query<{ d: string; n: number }>(
    `SELECT ${day} AS d, COUNT(*) AS n FROM ${db.quote(n.requests)} WHERE ${n.req('created_at')} >= ? AND ${n.req('created_at')} < ? GROUP BY ${day}`,
    [start, end],
  );
  return new Map(rows.map((r) => [String(r.d).slice(0, 10), Number(r.n)]));
}

interface RetentionPlan {
  /** Days before this one are past retention. */
  cutoff: string;
  /** Half-open day ranges [from, toExclusive) whose detail rows may go: every day in them with rows has a summary row. */
  ranges: Array<{ from: string; toExclusive: string }>;
  /** Days past retention that hold detail rows but have no summary row: kept. */
  unsummarized: string[];
}

/**
 * Which detail rows past retention may be deleted: only those of days whose summary row
 * exists. Works from the oldest detail row to the cutoff with index probes, never a scan.
 */
export async function planRetention(
  db: Db,
  n: StatsNames,
  cutoff: string,
  assumeSummarized?: ReadonlySet<string>,
): Promise<RetentionPlan> {
  const plan: RetentionPlan = { cutoff, ranges: [], unsummarized: [] };
  const c = n.req('created_at');
  const oldest = await db.queryOne<{ m: string | null }>(
    `SELECT MIN(${c}) AS m FROM ${db.quote(n.requests)} WHERE ${c} < ?`,
    [`${cutoff} 00:00:00`],
  );
  if (!oldest?.m) return plan;
  const first = String(oldest.m).slice(0, 10);
  const d = db.quote(n.sum('date'));
  const summarized = new Set(
    (
      await db.query<{ d: string }>(`SELECT ${d} AS d FROM ${db.quote(n.summary)} WHERE ${d} >= ? AND ${d} < ?`, [
        first,
        cutoff,
      ])
    ).map((r) => String(r.d).slice(0, 10)),
  );
  let runStart: string | null = null;
  for (const day of daysBetween(first, addDays(cutoff, -1))) {
    let ok = summarized.has(day) || Boolean(assumeSummarized?.has(day));
    if (!ok) {
      const [s, e] = dayRange(day, day);
      const any = await db.queryOne(`SELECT 1 AS x FROM ${db.quote(n.requests)} WHERE ${c} >= ? AND ${c} < ? LIMIT 1`, [
        s,
        e,
      ]);
      ok = any === undefined; // nothing to lose on a day without rows
      if (!ok) plan.unsummarized.push(day);
    }
    if (ok && runStart === null) runStart = day;
    if (!ok && runStart !== null) {
      plan.ranges.push({ from: runStart, toExclusive: day });
      runStart = null;
    }
  }
  if (runStart !== null) plan.ranges.push({ from: runStart, toExclusive: cutoff });
  return plan;
}
