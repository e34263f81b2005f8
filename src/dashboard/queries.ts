import type { TableMap } from '../config/tables.js';
import { countIf, dayOf } from '../db/dialect.js';
import { jsonNumber } from '../db/json.js';
import type { Db, Dialect } from '../db/types.js';

/**
 * The dashboard's figures, each one GROUP BY statement run by the engine: whatever the size of
 * the run history, only a row per job and day (or per day and type) reaches this process.
 * Day boundaries are the app's local days: `started_at` is stored in local time.
 */

export interface TimelineDay {
  job: string;
  day: string;
  runs: number;
  succeeded: number;
  failed: number;
  /** Abandoned or cancelled runs. */
  broken: number;
  skipped: number;
  running: number;
  maxMs: number | null;
  avgMs: number | null;
}

const n = (v: unknown) => (v === null || v === undefined ? null : Number(v));

/**
 * Runs per job and local day since `fromDay` (YYYY-MM-DD), by status, with their longest and
 * mean duration. One statement per job, so each reads only its range of the (job, started_at)
 * index rather than the whole history.
 */
export async function runTimeline(db: Db, fromDay: string, jobs: readonly string[]): Promise<TimelineDay[]> {
  const day = dayOf(db.dialect, 'started_at');
  const out: TimelineDay[] = [];
  for (const job of jobs) {
    const rows = await db.query<Record<string, unknown>>(
      `SELECT ${day} AS day, COUNT(*) AS runs,
         ${countIf("status = 'succeeded'")} AS succeeded, ${countIf("status = 'failed'")} AS failed,
         ${countIf("status IN ('abandoned', 'cancelled')")} AS broken, ${countIf("status = 'skipped'")} AS skipped,
         ${countIf("status = 'running'")} AS running, MAX(duration_ms) AS max_ms, AVG(duration_ms) AS avg_ms
       FROM webjobs_runs WHERE job = ? AND started_at >= ? GROUP BY ${day} ORDER BY day`,
      [job, `${fromDay} 00:00:00`],
    );
    for (const r of rows)
      out.push({
        job,
        day: dayText(r.day),
        runs: Number(r.runs),
        succeeded: Number(r.succeeded),
        failed: Number(r.failed),
        broken: Number(r.broken),
        skipped: Number(r.skipped),
        running: Number(r.running),
        maxMs: n(r.max_ms),
        avgMs: n(r.avg_ms),
      });
  }
  return out;
}

export interface BackupDay {
  day: string;
  type: string;
  backups: number;
  /** The largest file written that day (bytes). */
  maxBytes: number | null;
  /** Mean duration of that day's backups. */
  avgMs: number | null;
}

/** The text at `$.member` of a JSON column, NULL when the document is not valid JSON. */
function jsonText(dialect: Dialect, column: string, member: string): string {
  return dialect === 'sqlite'
    ? `(CASE WHEN json_valid(${column}) THEN json_extract(${column}, '$.${member}') END)`
    : `(CASE WHEN JSON_VALID(${column}) THEN JSON_UNQUOTE(JSON_EXTRACT(${column}, '$.${member}')) END)`;
}

/** Successful backup-db runs per local day and backup type since `fromDay`: sizes and durations from their results. */
export async function backupDays(db: Db, fromDay: string): Promise<BackupDay[]> {
  const type = jsonText(db.dialect, 'result', 'type');
  const bytes = jsonNumber(db.dialect, 'result', '$.bytes', 'integer');
  const rows = await db.query<Record<string, unknown>>(
    `SELECT day, type, COUNT(*) AS backups, MAX(bytes) AS max_bytes, AVG(duration_ms) AS avg_ms
     FROM (SELECT ${dayOf(db.dialect, 'started_at')} AS day, ${type} AS type, ${bytes} AS bytes, duration_ms
           FROM webjobs_runs WHERE job = 'backup-db' AND status = 'succeeded' AND started_at >= ?) b
     WHERE type IS NOT NULL GROUP BY day, type ORDER BY type, day`,
    [`${fromDay} 00:00:00`],
  );
  return rows.map((r) => ({
    day: dayText(r.day),
    type: String(r.type),
    backups: Number(r.backups),
    maxBytes: n(r.max_bytes),
    avgMs: n(r.avg_ms),
  }));
}

export interface ApiDay {
  date: string;
  requests: number;
  cacheHits: number;
  errors: number;
  avgResponseMs: number | null;
}

/** `api_statistics_summary` rows since `fromDay` (one per day already: aggregate-stats rolls them up). */
export async function apiDays(db: Db, tables: TableMap, fromDay: string): Promise<ApiDay[] | null> {
  const table = tables.table('api_statistics_summary');
  if (!(await db.tableExists(table))) return null;
  const c = (col: string) => db.quote(tables.column('api_statistics_summary', col));
  const rows = await db.query<Record<string, unknown>>(
    `SELECT ${c('date')} AS d, ${c('total_requests')} AS requests, ${c('cache_hits')} AS hits,
       ${c('error_count')} AS errors, ${c('avg_response_ms')} AS avg_ms
     FROM ${db.quote(table)} WHERE ${c('date')} >= ? ORDER BY ${c('date')}`,
    [fromDay],
  );
  return rows.map((r) => ({
    date: dayText(r.d),
    requests: Number(r.requests ?? 0),
    cacheHits: Number(r.hits ?? 0),
    errors: Number(r.errors ?? 0),
    avgResponseMs: n(r.avg_ms),
  }));
}

/** MariaDB hands DATE columns back as Date objects (at local midnight); SQLite as text. */
function dayText(v: unknown): string {
  if (v instanceof Date) {
    const p = (x: number) => String(x).padStart(2, '0');
    return `${v.getFullYear()}-${p(v.getMonth() + 1)}-${p(v.getDate())}`;
  }
  return String(v).slice(0, 10);
}
