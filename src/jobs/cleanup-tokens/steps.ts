import { insertIgnoreVerb, yearMonthOf } from '../../db/dialect.js';
import { jsonNumber, jsonObject, roundedAverage } from '../../db/json.js';
import { countMatching, purgeInChunks } from '../../db/purge.js';
import type { Db } from '../../db/types.js';
import type { JobContext } from '../../runner/job.js';
import { throwIfAborted } from '../../util/errors.js';
import { addDays, formatLocalDateTime } from '../../util/time.js';
import { compileRule, type RetentionRule } from './retention-rules.js';
import { DEFAULT_STATISTICS_PATHS, type Resolved, type StatisticsPaths } from './resolve.js';

/** What one step did (or, in a dry run, would do). */
export interface StepOutcome {
  count: number;
  /** Up to 5 ids of affected rows (file paths for temp files). */
  sampleIds: unknown[];
  notes: string[];
  details?: Record<string, unknown>;
}

export const EXPIRED_REASON = 'Automatic cleanup - expired';
export const inactiveReason = (days: number) => `Automatic cleanup - ${days} days inactive`;

const SAMPLE_SIZE = 5;

/** The local date-time `days` calendar days before `now`, in the reference schema's form. */
export function localDaysAgo(now: Date, days: number, timeZone: string): string {
  const local = formatLocalDateTime(now, timeZone);
  return `${addDays(local.slice(0, 10), -days)}${local.slice(10)}`;
}

async function sampleIds(
  db: Db,
  table: string,
  key: string,
  where: string,
  params: readonly unknown[],
): Promise<unknown[]> {
  const k = db.quote(key);
  const rows = await db.query<{ k: unknown }>(
    `SELECT ${k} AS k FROM ${db.quote(table)} WHERE (${where}) ORDER BY ${k} LIMIT ${SAMPLE_SIZE}`,
    params,
  );
  return rows.map((r) => r.k);
}

/**
 * An UPDATE step: in a dry run only counted; otherwise one transaction that samples a few ids
 * (for the log) and updates every matching row. The WHERE must exclude rows the SET already
 * produced, so a second run finds nothing.
 */
async function updateStep(
  ctx: JobContext,
  table: string,
  key: string,
  set: string,
  setParams: unknown[],
  where: string,
  whereParams: unknown[],
): Promise<StepOutcome> {
  const db = ctx.db;
  if (ctx.dryRun) {
    return {
      count: await countMatching(db, table, where, whereParams),
      sampleIds: await sampleIds(db, table, key, where, whereParams),
      notes: [],
    };
  }
  return db.transaction(async (tx) => {
    const samples = await sampleIds(tx, table, key, where, whereParams);
    const res = await tx.execute(`UPDATE ${tx.quote(table)} SET ${set} WHERE (${where})`, [
      ...setParams,
      ...whereParams,
    ]);
    return { count: res.affectedRows, sampleIds: samples, notes: [] };
  });
}

/** 1. API keys past `expires_at` → status `expired`; updated, never deleted (the audit trail stays). */
export async function expireApiKeys(ctx: JobContext, now: string): Promise<StepOutcome> {
  const t = ctx.tables;
  const table = t.table('api_keys');
  const q = (c: string) => ctx.db.quote(t.column('api_keys', c));
  const [status, expires, deactAt, deactReason] = [
    q('status'),
    q('expires_at'),
    q('deactivated_at'),
    q('deactivated_reason'),
  ];
  // A key that was still active gets its deactivation recorded now; one already deactivated
  // (inactive, revoked…) keeps its first deactivation time and reason. Status is assigned last
  // because MariaDB evaluates SET assignments left to right against the updated row.
  const wasActive = `(${status} = 'active' OR ${status} IS NULL)`;
  const set = [
    `${deactAt} = CASE WHEN ${wasActive} THEN ? ELSE COALESCE(${deactAt}, ?) END`,
    `${deactReason} = CASE WHEN ${wasActive} THEN ? ELSE COALESCE(${deactReason}, ?) END`,
    `${status} = 'expired'`,
  ].join(', ');
  const where = `${expires} IS NOT NULL AND ${expires} < ? AND (${status} IS NULL OR ${status} <> 'expired')`;
  return updateStep(ctx, table, t.column('api_keys', 'id'), set, [now, now, EXPIRED_REASON, EXPIRED_REASON], where, [
    now,
  ]);
}

/**
 * 2. Active API keys not used for `inactiveDays` (never used: counted from `created_at`) →
 * `inactive`. The status filter binds the whole condition (the seed's orWhere let it escape).
 * Keys already past their expiry are step 1's, not this one's.
 */
export async function deactivateIdleApiKeys(
  ctx: JobContext,
  now: string,
  cutoff: string,
  days: number,
): Promise<StepOutcome> {
  const t = ctx.tables;
  const table = t.table('api_keys');
  const q = (c: string) => ctx.db.quote(t.column('api_keys', c));
  const [status, expires, lastUsed, created, deactAt, deactReason] = [
    q('status'),
    q('expires_at'),
    q('last_used_at'),
    q('created_at'),
    q('deactivated_at'),
    q('deactivated_reason'),
  ];
  const set = `${deactAt} = ?, ${deactReason} = ?, ${status} = 'inactive'`;
  const where =
    `${status} = 'active'` +
    ` AND ((${lastUsed} IS NOT NULL AND ${lastUsed} < ?) OR (${lastUsed} IS NULL AND ${created} IS NOT NULL AND ${created} < ?))` +
    ` AND (${expires} IS NULL OR ${expires} >= ?)`;
  return updateStep(ctx, table, t.column('api_keys', 'id'), set, [now, inactiveReason(days)], where, [
    cutoff,
    cutoff,
    now,
  ]);
}

/** 3. Verification tokens expired on sites that are not verified → token and expiry cleared, status `verification_expired`. */
export async function expireWebsiteTokens(ctx: JobContext, now: string): Promise<StepOutcome> {
  const t = ctx.tables;
  const table = t.table('websites');
  const q = (c: string) => ctx.db.quote(t.column('websites', c));
  const [token, expires, status] = [q('verification_token'), q('verification_expires_at'), q('status')];
  const set = `${token} = NULL, ${expires} = NULL, ${status} = 'verification_expired'`;
  const where = `${token} IS NOT NULL AND ${expires} IS NOT NULL AND ${expires} < ? AND (${status} IS NULL OR ${status} <> 'verified')`;
  return updateStep(ctx, table, t.column('websites', 'id'), set, [], where, [now]);
}

const monthStart = (year: number, month: number) =>
  `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-01 00:00:00`;
const nextMonth = (year: number, month: number): [number, number] => (month === 12 ? [year + 1, 1] : [year, month + 1]);

interface MonthReport {
  month: string;
  rows: number;
  summariesAdded: number;
  deleted: number;
  /** The longest single delete statement of the month's chunked purge. */
  longestStatementMs: number;
  /** Websites whose rows stay: a summary of that month exists that does not cover them. */
  keptWebsites: unknown[];
}

/**
 * 4. `website_statistics` rows older than the retention: summarized per website and month into
 * `website_statistics_monthly` (insert-or-ignore, so a re-run adds nothing twice), and only
 * after that summary is committed, deleted in chunks.
 *
 * A month is summarized once, so it is only summarized (and its rows deleted) when all of it is
 * past the cutoff: rows older than the retention that share their month with the cutoff wait
 * until that month has passed too. Otherwise the month's summary would freeze on its first part
 * and the rest of the month would later be deleted without being counted (the seed's flaw).
 * Should a month's summary already exist with fewer records than the detail rows now there
 * (rows added after it was written), that website's rows of that month are kept and a warning
 * says so: nothing is deleted that no summary covers.
 */
export async function summarizeAndPurgeStatistics(
  ctx: JobContext,
  cutoff: string,
  chunkSize: number,
  paths: StatisticsPaths = DEFAULT_STATISTICS_PATHS,
): Promise<StepOutcome> {
  const db = ctx.db;
  const t = ctx.tables;
  const stats = t.table('website_statistics');
  const monthly = t.table('website_statistics_monthly');
  const sc = (c: string) => db.quote(t.column('website_statistics', c));
  const mc = (c: string) => db.quote(t.column('website_statistics_monthly', c));
  const [id, websiteId, created, data] = [sc('id'), sc('website_id'), sc('created_at'), sc('statistics_data')];
  const monthCutoff = `${cutoff.slice(0, 7)}-01 00:00:00`;
  /** One month's rows: its time range, bounded by its key range. Parameters: start, end, lowest id, highest id. */
  const inMonth = `${created} >= ? AND ${created} < ? AND ${id} >= ? AND ${id} <= ?`;
  const outcome: StepOutcome = { count: 0, sampleIds: [], notes: [], details: { cutoff, deleteBefore: monthCutoff } };

  const waiting = await countMatching(db, stats, `${created} >= ? AND ${created} < ?`, [monthCutoff, cutoff]);
  if (waiting > 0)
    outcome.notes.push(
      `${waiting} row(s) older than the retention wait until their month (${cutoff.slice(0, 7)}) is entirely past it`,
    );
  (outcome.details as Record<string, unknown>).waitingForMonthEnd = waiting;

  const summary = jsonObject(db.dialect, [
    ['record_count', 'COUNT(*)'],
    ['avg_api_calls', roundedAverage(db.dialect, jsonNumber(db.dialect, data, paths.api_calls_today, 'integer'))],
    [
      'avg_response_time',
      roundedAverage(db.dialect, jsonNumber(db.dialect, data, paths.average_response_time, 'decimal')),
    ],
    ['total_page_views', `SUM(${jsonNumber(db.dialect, data, paths.page_views_today, 'integer')})`],
    ['max_total_users', `MAX(${jsonNumber(db.dialect, data, paths.total_users, 'integer')})`],
  ]);
  const insertSql =
    `${insertIgnoreVerb(db.dialect)} INTO ${db.quote(monthly)} (${mc('website_id')}, ${mc('year')}, ${mc('month')}, ${mc('summary_data')}) ` +
    `SELECT ${websiteId}, ?, ?, ${summary} FROM ${db.quote(stats)} WHERE ${created} >= ? AND ${created} < ? AND ${id} >= ? AND ${id} <= ? GROUP BY ${websiteId}`;

  /** Websites of the month whose rows no summary covers (so they stay), and how many summaries are new. */
  const checkCoverage = async (on: Db, year: number, month: number, range: unknown[], report: MonthReport) => {
    const counts = await on.query<{ w: unknown; n: number }>(
      `SELECT ${websiteId} AS w, COUNT(*) AS n FROM ${on.quote(stats)} WHERE ${inMonth} GROUP BY ${websiteId}`,
      range,
    );
    const stored = await on.query<{ w: unknown; s: unknown }>(
      `SELECT ${mc('website_id')} AS w, ${mc('summary_data')} AS s FROM ${on.quote(monthly)} WHERE ${mc('year')} = ? AND ${mc('month')} = ?`,
      [year, month],
    );
    const recorded = new Map(stored.map((r) => [String(r.w), recordCount(r.s)]));
    const kept: unknown[] = [];
    let wouldAdd = 0;
    for (const c of counts) {
      report.rows += Number(c.n);
      if (!recorded.has(String(c.w))) {
        if (ctx.dryRun) {
          wouldAdd++; // the summary this run would insert covers every row
          continue;
        }
        kept.push(c.w); // the insert was ignored (e.g. no website id): nothing covers these rows
        continue;
      }
      const r = recorded.get(String(c.w));
      // Fewer rows than recorded: a run that summarized the month stopped part-way through its delete.
      if (r === undefined || r === null || Number(c.n) > r) kept.push(c.w);
    }
    return { kept, wouldAdd };
  };

  // One pass finds the months to handle and each month's key range. Every later statement of a
  // month is bounded by that range too (exact: the month's rows all lie inside it), so without an
  // index on created_at each month costs a key-range scan, not another pass over the table.
  const spans = await db.query<{ ym: string; lo: unknown; hi: unknown }>(
    `SELECT ${yearMonthOf(db.dialect, created)} AS ym, MIN(${id}) AS lo, MAX(${id}) AS hi FROM ${db.quote(stats)} WHERE ${created} < ? GROUP BY ${yearMonthOf(db.dialect, created)} ORDER BY ym`,
    [monthCutoff],
  );
  const months: MonthReport[] = [];
  for (const span of spans) {
    throwIfAborted(ctx.signal);
    const [year, month] = [Number(String(span.ym).slice(0, 4)), Number(String(span.ym).slice(5, 7))];
    if (!Number.isInteger(year) || !Number.isInteger(month) || month < 1 || month > 12) {
      outcome.notes.push(`rows with created_at month ${JSON.stringify(span.ym)} skipped (not a calendar month)`);
      continue;
    }
    const start = monthStart(year, month);
    const end = monthStart(...nextMonth(year, month));
    const range = [start, end, span.lo, span.hi];
    const report: MonthReport = {
      month: String(span.ym).slice(0, 7),
      rows: 0,
      summariesAdded: 0,
      deleted: 0,
      longestStatementMs: 0,
      keptWebsites: [],
    };

    let covered: unknown[];
    if (ctx.dryRun) {
      const check = await checkCoverage(db, year, month, range, report);
      covered = check.kept;
      report.summariesAdded = check.wouldAdd;
    } else {
      // The summary is committed before any of the month's rows is deleted.
      covered = await db.transaction(async (tx) => {
        const inserted = await tx.execute(insertSql, [year, month, ...range]);
        report.summariesAdded = inserted.affectedRows;
        return (await checkCoverage(tx, year, month, range, report)).kept;
      });
    }
    report.keptWebsites = covered;
    for (const w of covered)
      ctx.warn(
        `website_statistics: website ${String(w)} ${report.month} ${ctx.dryRun ? 'would be ' : ''}kept: its monthly summary does not cover all of its ${report.month} rows (rows added after the summary was written?)`,
      );

    // NOT IN with a NULL in its list matches nothing, so rows without a website are excluded apart.
    const keptIds = covered.filter((w) => w !== null && w !== undefined);
    let keptClause = covered.length > keptIds.length ? ` AND ${websiteId} IS NOT NULL` : '';
    if (keptIds.length)
      keptClause += ` AND (${websiteId} IS NULL OR ${websiteId} NOT IN (${keptIds.map(() => '?').join(', ')}))`;
    const where = `${inMonth}${keptClause}`;
    const params = [...range, ...keptIds];
    if (outcome.sampleIds.length < SAMPLE_SIZE) {
      outcome.sampleIds.push(
        ...(await sampleIds(db, stats, t.column('website_statistics', 'id'), where, params)).slice(
          0,
          SAMPLE_SIZE - outcome.sampleIds.length,
        ),
      );
    }
    if (ctx.dryRun) {
      report.deleted = await countMatching(db, stats, where, params);
    } else {
      const purged = await purgeInChunks(db, {
        table: stats,
        keyColumn: t.column('website_statistics', 'id'),
        where,
        params,
        chunkSize,
        signal: ctx.signal,
      });
      report.deleted = purged.deleted;
      report.longestStatementMs = Math.round(purged.longestStatementMs * 10) / 10;
      ctx.logger.info(
        `website_statistics ${report.month}: ${report.summariesAdded} monthly summar${report.summariesAdded === 1 ? 'y' : 'ies'} added, ${report.deleted} detail row(s) deleted`,
      );
    }
    outcome.count += report.deleted;
    months.push(report);
  }
  (outcome.details as Record<string, unknown>).months = months;
  (outcome.details as Record<string, unknown>).summariesAdded = months.reduce((s, m) => s + m.summariesAdded, 0);
  (outcome.details as Record<string, unknown>).longestDeleteStatementMs = months.reduce(
    (s, m) => Math.max(s, m.longestStatementMs),
    0,
  );
  return outcome;
}

function recordCount(summary: unknown): number | null {
  if (summary === null || summary === undefined) return null;
  try {
    const parsed = typeof summary === 'string' ? (JSON.parse(summary) as unknown) : summary;
    const n = (parsed as { record_count?: unknown })?.record_count;
    return typeof n === 'number'
      ? n
      : typeof n === 'string' && n.trim() !== '' && Number.isFinite(Number(n))
        ? Number(n)
        : null;
  } catch {
    return null;
  }
}

/** A chunked delete (or, in a dry run, a count) of the rows matching `where`; a missing table is a note. */
async function purgeStep(
  ctx: JobContext,
  label: string,
  table: string,
  key: string,
  where: string,
  params: unknown[],
  chunkSize: number,
  outcome: StepOutcome,
  missingIsNote: boolean,
): Promise<number> {
  const db = ctx.db;
  if (!(await db.tableExists(table))) {
    if (!missingIsNote) throw new Error(`table ${table} does not exist`);
    outcome.notes.push(`${label}: table ${table} does not exist, nothing to do`);
    return 0;
  }
  if (outcome.sampleIds.length < SAMPLE_SIZE)
    outcome.sampleIds.push(
      ...(await sampleIds(db, table, key, where, params)).slice(0, SAMPLE_SIZE - outcome.sampleIds.length),
    );
  if (ctx.dryRun) return countMatching(db, table, where, params);
  const res = await purgeInChunks(db, { table, keyColumn: key, where, params, chunkSize, signal: ctx.signal });
  return res.deleted;
}

/** 6. Sessions idle more than `sessionDays` and expired personal access tokens, deleted in chunks. */
export async function purgeSessionsAndTokens(
  ctx: JobContext,
  nowMs: number,
  now: string,
  settings: Resolved,
): Promise<StepOutcome> {
  const t = ctx.tables;
  const outcome: StepOutcome = { count: 0, sampleIds: [], notes: [] };
  const sessionsTable = t.table('sessions');
  const lastActivity = ctx.db.quote(t.column('sessions', 'last_activity'));
  const idleBefore = Math.floor(nowMs / 1000) - settings.sessionDays * 86_400;
  const sessions = await purgeStep(
    ctx,
    'sessions',
    sessionsTable,
    t.column('sessions', 'id'),
    `${lastActivity} < ?`,
    [idleBefore],
    settings.chunkSize,
    outcome,
    true,
  );
  const tokensTable = t.table('personal_access_tokens');
  const expires = ctx.db.quote(t.column('personal_access_tokens', 'expires_at'));
  const tokens = await purgeStep(
    ctx,
    'personal_access_tokens',
    tokensTable,
    t.column('personal_access_tokens', 'id'),
    `${expires} IS NOT NULL AND ${expires} < ?`,
    [now],
    settings.chunkSize,
    outcome,
    true,
  );
  outcome.count = sessions + tokens;
  outcome.details = { sessions, personalAccessTokens: tokens, sessionIdleBefore: idleBefore };
  return outcome;
}

/** 7. One configured retention rule: delete in chunks, or set columns in one transaction. */
export async function applyRetentionRule(
  ctx: JobContext,
  rule: RetentionRule,
  nowMs: number,
  settings: Resolved,
): Promise<StepOutcome> {
  const db = ctx.db;
  if (!(await db.tableExists(rule.table))) throw new Error(`table ${rule.table} does not exist`);
  const cutoffMs = nowMs - rule.days * 86_400_000;
  const cutoff =
    rule.timeFormat === 'unix'
      ? Math.floor(cutoffMs / 1000)
      : rule.timeFormat === 'unix_ms'
        ? cutoffMs
        : localDaysAgo(new Date(nowMs), rule.days, ctx.timeZone);
  const { where, params } = compileRule(db, rule, cutoff);
  if (rule.action === 'set') {
    const set = rule.set.map(([col]) => `${db.quote(col)} = ?`).join(', ');
    const setParams = rule.set.map(([, v]) => (typeof v === 'boolean' ? (v ? 1 : 0) : v));
    const out = await updateStep(ctx, rule.table, rule.key, set, setParams, where, params);
    out.details = { cutoff, action: 'set' };
    return out;
  }
  const outcome: StepOutcome = { count: 0, sampleIds: [], notes: [], details: { cutoff, action: 'delete' } };
  outcome.count = await purgeStep(
    ctx,
    rule.name,
    rule.table,
    rule.key,
    where,
    params,
    settings.chunkSize,
    outcome,
    false,
  );
  return outcome;
}
