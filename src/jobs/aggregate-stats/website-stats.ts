import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../../config/config.js';
import { forUpdate } from '../../db/dialect.js';
import { SqliteDb } from '../../db/sqlite.js';
import type { Db } from '../../db/types.js';
import type { JobContext } from '../../runner/job.js';
import { errorMessage, throwIfAborted, UsageError } from '../../util/errors.js';
import { addDays, formatLocalDateTime } from '../../util/time.js';

/** Seed 000's per-website figures for one day, flat keys as the seed writes them. */
export interface WebsiteFigures {
  total_users: number;
  new_users_today: number;
  active_users_today: number;
  verified_users: number;
  total_webblocs: number;
  new_webblocs_today: number;
  webblocs_by_type: Record<string, number>;
  total_views_today: number;
  total_interactions_today: number;
  comments_today: number;
  reviews_today: number;
  likes_today: number;
  shares_today: number;
  average_rating: number | null;
  api_calls_today: number;
  average_response_time: number | null;
  database_size_bytes: number;
  page_views_today: number;
  unique_visitors_today: number;
  api_errors_today: number;
  auth_errors_today: number;
  rate_limit_exceeded_today: number;
  error_rate_percentage: number;
}

export interface WebsiteRow {
  id: number;
  name: string;
}

export interface WebsiteOutcome {
  id: number;
  name: string;
  file: string;
  days: number;
  error?: string;
}

export function checkWebsiteTemplate(config: Config): string {
  const template = config.value('websites.databasePath');
  if (!template.includes('{id}'))
    throw new UsageError(`config websites.databasePath must contain {id}, got ${JSON.stringify(template)}`);
  return template;
}

/** The site's SQLite file: the template with {id}, relative to the config file's folder (or the working directory by default). */
export function websiteDbPath(config: Config, id: number): string {
  const template = checkWebsiteTemplate(config);
  const rel = template.replaceAll('{id}', String(id));
  const base = config.get('websites.databasePath') === undefined ? process.cwd() : config.baseDir;
  return path.resolve(base, rel);
}

const round2 = (n: number) => Math.round(n * 100) / 100;
const num = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));

/** The site file's users and web_blocs figures for `day` (read only). */
async function siteFileFigures(site: Db, day: string): Promise<Partial<WebsiteFigures>> {
  const start = `${day} 00:00:00`;
  const end = `${addDays(day, 1)} 00:00:00`;
  const on = (col: string) => `(${col} >= ? AND ${col} < ?)`;
  const u = await site.queryOne<Record<string, unknown>>(
    `SELECT COUNT(*) AS total_users,
            COALESCE(SUM(CASE WHEN ${on('created_at')} THEN 1 ELSE 0 END), 0) AS new_users_today,
            COALESCE(SUM(CASE WHEN ${on('last_activity_at')} THEN 1 ELSE 0 END), 0) AS active_users_today,
            COALESCE(SUM(CASE WHEN email_verified_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS verified_users
       FROM users`,
    [start, end, start, end],
  );
  const w = await site.queryOne<Record<string, unknown>>(
    `SELECT COALESCE(SUM(CASE WHEN status = 'active' THEN 1 ELSE 0 END), 0) AS total_webblocs,
            COALESCE(SUM(CASE WHEN ${on('created_at')} THEN 1 ELSE 0 END), 0) AS new_webblocs_today,
            COALESCE(SUM(CASE WHEN ${on('updated_at')} THEN view_count ELSE 0 END), 0) AS total_views_today,
            COALESCE(SUM(CASE WHEN ${on('updated_at')} THEN interaction_count ELSE 0 END), 0) AS total_interactions_today,
            COALESCE(SUM(CASE WHEN webbloc_type = 'comment' AND ${on('created_at')} THEN 1 ELSE 0 END), 0) AS comments_today,
            COALESCE(SUM(CASE WHEN webbloc_type = 'review' AND ${on('created_at')} THEN 1 ELSE 0 END), 0) AS reviews_today,
            COALESCE(SUM(CASE WHEN ${on('updated_at')} THEN likes_count ELSE 0 END), 0) AS likes_today,
            COALESCE(SUM(CASE WHEN ${on('updated_at')} THEN shares_count ELSE 0 END), 0) AS shares_today,
            AVG(CASE WHEN webbloc_type = 'review' THEN CAST(json_extract(data, '$.rating') AS REAL) END) AS average_rating
       FROM web_blocs`,
    [start, end, start, end, start, end, start, end, start, end, start, end, start, end],
  );
  const byType = await site.query<{ t: string; n: number }>(
    `SELECT webbloc_type AS t, COUNT(*) AS n FROM web_blocs WHERE status = 'active' GROUP BY webbloc_type ORDER BY webbloc_type`,
  );
  return {
    total_users: num(u?.total_users),
    new_users_today: num(u?.new_users_today),
    active_users_today: num(u?.active_users_today),
    verified_users: num(u?.verified_users),
    total_webblocs: num(w?.total_webblocs),
    new_webblocs_today: num(w?.new_webblocs_today),
    webblocs_by_type: Object.fromEntries(byType.map((r) => [String(r.t), num(r.n)])),
    total_views_today: num(w?.total_views_today),
    total_interactions_today: num(w?.total_interactions_today),
    comments_today: num(w?.comments_today),
    reviews_today: num(w?.reviews_today),
    likes_today: num(w?.likes_today),
    shares_today: num(w?.shares_today),
    average_rating:
      w?.average_rating === null || w?.average_rating === undefined ? null : round2(Number(w.average_rating)),
  };
}

/** The performance and error figures from the main database's website_statistics row(s) of the day. */
async function mainDbFigures(ctx: JobContext, websiteId: number, day: string): Promise<Partial<WebsiteFigures>> {
  const T = 'website_statistics';
  const q = (c: string) => ctx.db.quote(ctx.tables.column(T, c));
  const r = await ctx.db.queryOne<Record<string, unknown>>(
    `SELECT COALESCE(SUM(${q('api_requests_count')}), 0) AS api_calls, AVG(${q('average_response_time')}) AS avg_rt,
            COALESCE(SUM(${q('page_views')}), 0) AS page_views, COALESCE(SUM(${q('unique_visitors')}), 0) AS unique_visitors,
            COALESCE(SUM(${q('error_count')}), 0) AS api_errors, COALESCE(SUM(${q('auth_errors')}), 0) AS auth_errors,
            COALESCE(SUM(${q('rate_limit_exceeded')}), 0) AS rate_limited
       FROM ${ctx.db.quote(ctx.tables.table(T))} WHERE ${q('website_id')} = ? AND ${q('date')} = ?`,
    [websiteId, day],
  );
  const apiCalls = num(r?.api_calls);
  const apiErrors = num(r?.api_errors);
  return {
    api_calls_today: apiCalls,
    average_response_time: r?.avg_rt === null || r?.avg_rt === undefined ? null : round2(Number(r.avg_rt)),
    page_views_today: num(r?.page_views),
    unique_visitors_today: num(r?.unique_visitors),
    api_errors_today: apiErrors,
    auth_errors_today: num(r?.auth_errors),
    rate_limit_exceeded_today: num(r?.rate_limited),
    error_rate_percentage: round2((apiErrors / Math.max(1, apiCalls)) * 100),
  };
}

/**
 * Merges `figures` into website_statistics.statistics_data for (website, day) in one short
 * transaction: keys written by others are kept; a row that does not exist yet is created.
 * Existing data that is not a JSON object is refused (never overwritten).
 */
export async function mergeStatistics(
  ctx: JobContext,
  websiteId: number,
  day: string,
  figures: Record<string, unknown>,
): Promise<void> {
  const T = 'website_statistics';
  const tq = ctx.db.quote(ctx.tables.table(T));
  const q = (c: string) => ctx.db.quote(ctx.tables.column(T, c));
  const now = formatLocalDateTime(ctx.clock.now(), ctx.timeZone);
  await ctx.db.transaction(
    async (tx) => {
      const row = await tx.queryOne<{ data: unknown }>(
        `SELECT ${q('statistics_data')} AS data FROM ${tq} WHERE ${q('website_id')} = ? AND ${q('date')} = ?${forUpdate(tx.dialect)}`,
        [websiteId, day],
      );
      if (!row) {
        await tx.execute(
          `INSERT INTO ${tq} (${q('website_id')}, ${q('date')}, ${q('statistics_data')}, ${q('created_at')}, ${q('updated_at')}) VALUES (?, ?, ?, ?, ?)`,
          [websiteId, day, JSON.stringify(figures), now, now],
        );
        return;
      }
      let existing: Record<string, unknown> = {};
      if (row.data !== null && row.data !== undefined && String(row.data).trim() !== '') {
        let parsed: unknown;
        try {
          parsed = JSON.parse(String(row.data));
        } catch {
          throw new Error(
            `website_statistics row for website ${websiteId} on ${day} holds statistics_data that is not JSON; left as it is`,
          );
        }
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
          throw new Error(
            `website_statistics row for website ${websiteId} on ${day} holds statistics_data that is not a JSON object; left as it is`,
          );
        }
        existing = parsed as Record<string, unknown>;
      }
      await tx.execute(
        `UPDATE ${tq} SET ${q('statistics_data')} = ?, ${q('updated_at')} = ? WHERE ${q('website_id')} = ? AND ${q('date')} = ?`,
        [JSON.stringify({ ...existing, ...figures }), now, websiteId, day],
      );
    },
    { immediate: true },
  );
}

/** Active websites (or the one `--website` names). */
export async function websitesToProcess(ctx: JobContext, only?: number): Promise<WebsiteRow[]> {
  const T = 'websites';
  if (!(await ctx.db.tableExists(ctx.tables.table(T)))) {
    if (only !== undefined) throw new UsageError(`--website ${only}: there is no ${ctx.tables.table(T)} table`);
    return [];
  }
  const q = (c: string) => ctx.db.quote(ctx.tables.column(T, c));
  const base = `SELECT ${q('id')} AS id, ${q('name')} AS name, ${q('status')} AS status FROM ${ctx.db.quote(ctx.tables.table(T))}`;
  if (only !== undefined) {
    const row = await ctx.db.queryOne<{ id: number; name: string; status: string }>(`${base} WHERE ${q('id')} = ?`, [
      only,
    ]);
    if (!row) throw new UsageError(`--website ${only}: no such website`);
    if (row.status !== 'active')
      ctx.warn(`website ${only} (${row.name}) is ${row.status}, processed because --website names it`);
    return [{ id: Number(row.id), name: String(row.name) }];
  }
  const rows = await ctx.db.query<{ id: number; name: string }>(
    `${base} WHERE ${q('status')} = 'active' ORDER BY ${q('id')}`,
  );
  return rows.map((r) => ({ id: Number(r.id), name: String(r.name) }));
}

/**
 * One website: open its SQLite file read-only, compute the figures for each day, merge them,
 * stamp websites.last_stats_processed. Any failure is returned (named), never thrown, so the
 * other sites still run.
 */
export async function processWebsite(
  ctx: JobContext,
  site: WebsiteRow,
  days: readonly string[],
): Promise<WebsiteOutcome> {
  const file = websiteDbPath(ctx.config, site.id);
  const outcome: WebsiteOutcome = { id: site.id, name: site.name, file, days: 0 };
  let siteDb: SqliteDb | null = null;
  try {
    if (!fs.existsSync(file)) throw new Error(`database file ${file} does not exist`);
    try {
      siteDb = SqliteDb.open(file, { readonly: true });
    } catch (err) {
      throw new Error(`cannot open ${file}: ${errorMessage(err)}`, { cause: err });
    }
    if (ctx.dryRun) {
      await siteDb.query('SELECT COUNT(*) AS n FROM users');
      await siteDb.query('SELECT COUNT(*) AS n FROM web_blocs');
      outcome.days = days.length;
      return outcome;
    }
    const size = fs.statSync(file).size;
    for (const day of days) {
      throwIfAborted(ctx.signal);
      let fromFile: Partial<WebsiteFigures>;
      try {
        fromFile = await siteFileFigures(siteDb, day);
      } catch (err) {
        throw new Error(`cannot read ${file}: ${errorMessage(err)}`, { cause: err });
      }
      const figures = { ...fromFile, ...(await mainDbFigures(ctx, site.id, day)), database_size_bytes: size };
      await mergeStatistics(ctx, site.id, day, figures);
      outcome.days++;
    }
    const T = 'websites';
    await ctx.db.execute(
      `UPDATE ${ctx.db.quote(ctx.tables.table(T))} SET ${ctx.db.quote(ctx.tables.column(T, 'last_stats_processed'))} = ? WHERE ${ctx.db.quote(ctx.tables.column(T, 'id'))} = ?`,
      [formatLocalDateTime(ctx.clock.now(), ctx.timeZone), site.id],
    );
    return outcome;
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    outcome.error = errorMessage(err);
    return outcome;
  } finally {
    await siteDb?.close();
  }
}
