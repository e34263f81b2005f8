import type { TableMap } from '../../config/tables.js';
import { withoutIndex } from '../../db/dialect.js';
import type { Db } from '../../db/types.js';
import type { ReportPeriod } from './period.js';

/**
 * The report's seven sections. Each one is a single SQL statement that the database engine
 * evaluates (GROUP BY / ORDER BY … LIMIT), so only the few result rows ever reach this
 * process, whatever the number of activity rows.
 *
 * Ties are broken deterministically, the same on both engines:
 * - top users: activity count desc, user id asc
 * - top movies / series: views desc, movie / series id asc
 * - top search terms: searches desc, term asc (the engine's collation decides which terms are
 *   equal: MariaDB's default *_ci collations group "Action" and "action" together)
 * - activity by type: count desc, type asc
 * - suspicious IPs: failed attempts desc, IP asc
 */

export type ColumnType = 'int' | 'number' | 'text';

interface SectionColumn {
  key: string;
  label: string;
  type: ColumnType;
}

export type SectionRow = Record<string, string | number | null>;

export interface Section {
  id: SectionId;
  title: string;
  columns: SectionColumn[];
  available: boolean;
  /** Why the section is unavailable (a missing table). */
  reason?: string;
  rows: SectionRow[];
  /** More rows matched than the section's limit allows (suspicious IPs only). */
  truncated?: boolean;
  /** Extra lines under the title (e.g. metrics left out because their table is missing). */
  notes: string[];
}

export const SECTION_IDS = [
  'summary',
  'top_users',
  'top_movies',
  'top_series',
  'top_search_terms',
  'activity_by_type',
  'suspicious_ips',
] as const;
export type SectionId = (typeof SECTION_IDS)[number];

export interface SectionSettings {
  /** Failed logins from one IP in the period at which it is listed (config report.suspiciousIpThreshold, default 5). */
  suspiciousIpThreshold: number;
  /** At most this many suspicious IPs are listed (config report.suspiciousIpLimit, default 1000). */
  suspiciousIpLimit: number;
}

/** The activity_type values the sections count (the reference schema's). */
const ACTIVITY = {
  login: 'login',
  loginFailed: 'login_failed',
  watchMovie: 'watch_movie',
  watchSeries: 'watch_series',
  search: 'search',
} as const;

/** A prepared section statement: SQL text, bound values, and the tables it reads. */
interface SectionQuery {
  id: SectionId;
  sql: string;
  params: unknown[];
  tables: string[];
}

/** Quoted, config-mapped names for the tables and columns the report reads. */
class Names {
  constructor(
    private readonly db: Db,
    private readonly map: TableMap,
  ) {}
  table(logical: string): string {
    return this.db.quote(this.map.table(logical));
  }
  get dialect() {
    return this.db.dialect;
  }
  raw(logical: string): string {
    return this.map.table(logical);
  }
  col(logical: string, column: string, alias?: string): string {
    const c = this.db.quote(this.map.column(logical, column));
    return alias ? `${alias}.${c}` : c;
  }
}

const TITLES: Record<SectionId, string> = {
  summary: 'Summary Metrics',
  top_users: 'Top 10 Active Users',
  top_movies: 'Top 10 Watched Movies',
  top_series: 'Top 10 Watched Series',
  top_search_terms: 'Top 20 Search Terms',
  activity_by_type: 'Activity by Type',
  suspicious_ips: 'Suspicious IP Addresses',
};

const COLUMNS: Record<SectionId, SectionColumn[]> = {
  summary: [
    { key: 'metric', label: 'Metric', type: 'text' },
    { key: 'value', label: 'Value', type: 'int' },
  ],
  top_users: [
    { key: 'id', label: 'User ID', type: 'int' },
    { key: 'username', label: 'Username', type: 'text' },
    { key: 'email', label: 'Email', type: 'text' },
    { key: 'activity_count', label: 'Activity Count', type: 'int' },
  ],
  top_movies: [
    { key: 'id', label: 'Movie ID', type: 'int' },
    { key: 'title', label: 'Title', type: 'text' },
    { key: 'year', label: 'Year', type: 'int' },
    { key: 'rating', label: 'Rating', type: 'number' },
    { key: 'views', label: 'Views', type: 'int' },
  ],
  top_series: [
    { key: 'id', label: 'Series ID', type: 'int' },
    { key: 'title', label: 'Title', type: 'text' },
    { key: 'year', label: 'Year', type: 'int' },
    { key: 'rating', label: 'Rating', type: 'number' },
    { key: 'views', label: 'Views', type: 'int' },
  ],
  top_search_terms: [
    { key: 'search_term', label: 'Search Term', type: 'text' },
    { key: 'search_count', label: 'Search Count', type: 'int' },
  ],
  activity_by_type: [
    { key: 'activity_type', label: 'Activity Type', type: 'text' },
    { key: 'count', label: 'Count', type: 'int' },
  ],
  suspicious_ips: [
    { key: 'ip_address', label: 'IP Address', type: 'text' },
    { key: 'failed_attempts', label: 'Failed Attempts', type: 'int' },
  ],
};

const SUMMARY_METRICS = [
  { key: 'total_users', label: 'Total Users', table: 'users' },
  { key: 'active_users', label: 'Active Users', table: 'users' },
  { key: 'new_users', label: 'New Users', table: 'users' },
  { key: 'total_activities', label: 'Total Activities', table: 'user_activities' },
  { key: 'unique_active_users', label: 'Unique Active Users', table: 'user_activities' },
  { key: 'total_logins', label: 'Total Logins', table: 'user_activities' },
  { key: 'failed_logins', label: 'Failed Logins', table: 'user_activities' },
] as const;

/**
 * The summary in one statement. `presentTables` says which of users / user_activities exist:
 * metrics of a missing table are left out (and named in the section's notes).
 *
 * - total users: every row of users
 * - active users: users whose last_activity_at falls in the period
 * - new users: users whose created_at falls in the period
 * - total activities, unique active users (distinct user_id), logins, failed logins: activity rows in the period
 */
function summaryQuery(
  db: Db,
  map: TableMap,
  p: ReportPeriod,
  present: { users: boolean; activities: boolean },
): SectionQuery {
  const n = new Names(db, map);
  const parts: string[] = [];
  const params: unknown[] = [];
  if (present.users) {
    const u = n.table('users');
    parts.push(`(SELECT COUNT(*) FROM ${u}) AS total_users`);
    parts.push(
      `(SELECT COUNT(*) FROM ${u} WHERE ${n.col('users', 'last_activity_at')} >= ? AND ${n.col('users', 'last_activity_at')} < ?) AS active_users`,
    );
    parts.push(
      `(SELECT COUNT(*) FROM ${u} WHERE ${n.col('users', 'created_at')} >= ? AND ${n.col('users', 'created_at')} < ?) AS new_users`,
    );
    params.push(p.fromTs, p.toTs, p.fromTs, p.toTs);
  }
  let from = '';
  if (present.activities) {
    const type = n.col('user_activities', 'activity_type');
    const created = n.col('user_activities', 'created_at');
    parts.push(
      'a.total_activities',
      'a.unique_active_users',
      'COALESCE(a.total_logins, 0) AS total_logins',
      'COALESCE(a.failed_logins, 0) AS failed_logins',
    );
    from =
      ` FROM (SELECT COUNT(*) AS total_activities, COUNT(DISTINCT ${n.col('user_activities', 'user_id')}) AS unique_active_users,` +
      ` SUM(CASE WHEN ${type} = ? THEN 1 ELSE 0 END) AS total_logins, SUM(CASE WHEN ${type} = ? THEN 1 ELSE 0 END) AS failed_logins` +
      ` FROM ${n.table('user_activities')} WHERE ${created} >= ? AND ${created} < ?) a`;
    params.push(ACTIVITY.login, ACTIVITY.loginFailed, p.fromTs, p.toTs);
  }
  return {
    id: 'summary',
    sql: `SELECT ${parts.join(', ')}${from}`,
    params,
    tables: [n.raw('users'), n.raw('user_activities')],
  };
}

/** Activity rows in the period (optionally of one type), grouped by `groupColumn`, top `limit` by count then key. */
function topGroups(
  n: Names,
  p: ReportPeriod,
  groupColumn: string,
  countAlias: string,
  limit: number,
  type?: string,
  nonEmpty = false,
): { sql: string; params: unknown[] } {
  const created = n.col('user_activities', 'created_at');
  const column = n.col('user_activities', groupColumn);
  const group = withoutIndex(n.dialect, column);
  const where = [`${created} >= ?`, `${created} < ?`];
  const params: unknown[] = [p.fromTs, p.toTs];
  if (type !== undefined) {
    where.push(`${n.col('user_activities', 'activity_type')} = ?`);
    params.push(type);
  }
  where.push(`${column} IS NOT NULL`);
  if (nonEmpty) where.push(`${column} <> ''`);
  return {
    sql: `SELECT ${group} AS group_key, COUNT(*) AS ${countAlias} FROM ${n.table('user_activities')} WHERE ${where.join(' AND ')} GROUP BY ${group} ORDER BY ${countAlias} DESC, group_key ASC LIMIT ${Math.trunc(limit)}`,
    params,
  };
}

function topUsersQuery(db: Db, map: TableMap, p: ReportPeriod): SectionQuery {
  const n = new Names(db, map);
  const inner = topGroups(n, p, 'user_id', 'activity_count', 10);
  return {
    id: 'top_users',
    sql:
      `SELECT a.group_key AS id, ${n.col('users', 'username', 'u')} AS username, ${n.col('users', 'email', 'u')} AS email, a.activity_count AS activity_count` +
      ` FROM (${inner.sql}) a LEFT JOIN ${n.table('users')} u ON ${n.col('users', 'id', 'u')} = a.group_key ORDER BY a.activity_count DESC, a.group_key ASC`,
    params: inner.params,
    tables: [n.raw('user_activities'), n.raw('users')],
  };
}

function topTitlesQuery(
  db: Db,
  map: TableMap,
  p: ReportPeriod,
  id: 'top_movies' | 'top_series',
  table: 'movies' | 'series',
  type: string,
): SectionQuery {
  const n = new Names(db, map);
  const inner = topGroups(n, p, 'subject_id', 'views', 10, type);
  return {
    id,
    sql:
      `SELECT a.group_key AS id, ${n.col(table, 'title', 't')} AS title, ${n.col(table, 'year', 't')} AS year, ${n.col(table, 'rating', 't')} AS rating, a.views AS views` +
      ` FROM (${inner.sql}) a LEFT JOIN ${n.table(table)} t ON ${n.col(table, 'id', 't')} = a.group_key ORDER BY a.views DESC, a.group_key ASC`,
    params: inner.params,
    tables: [n.raw('user_activities'), n.raw(table)],
  };
}

const topMoviesQuery = (db: Db, map: TableMap, p: ReportPeriod) =>
  topTitlesQuery(db, map, p, 'top_movies', 'movies', ACTIVITY.watchMovie);
const topSeriesQuery = (db: Db, map: TableMap, p: ReportPeriod) =>
  topTitlesQuery(db, map, p, 'top_series', 'series', ACTIVITY.watchSeries);

function topSearchTermsQuery(db: Db, map: TableMap, p: ReportPeriod): SectionQuery {
  const n = new Names(db, map);
  const inner = topGroups(n, p, 'search_term', 'search_count', 20, ACTIVITY.search, true);
  return {
    id: 'top_search_terms',
    sql: `SELECT a.group_key AS search_term, a.search_count AS search_count FROM (${inner.sql}) a ORDER BY a.search_count DESC, a.group_key ASC`,
    params: inner.params,
    tables: [n.raw('user_activities')],
  };
}

function activityByTypeQuery(db: Db, map: TableMap, p: ReportPeriod): SectionQuery {
  const n = new Names(db, map);
  const inner = topGroups(n, p, 'activity_type', 'type_count', 1000);
  return {
    id: 'activity_by_type',
    sql: `SELECT a.group_key AS activity_type, a.type_count AS ${db.quote('count')} FROM (${inner.sql}) a ORDER BY a.type_count DESC, a.group_key ASC`,
    params: inner.params,
    tables: [n.raw('user_activities')],
  };
}

/** One row more than the limit is asked for, to tell the reader the list was cut. */
function suspiciousIpsQuery(db: Db, map: TableMap, p: ReportPeriod, s: SectionSettings): SectionQuery {
  const n = new Names(db, map);
  const created = n.col('user_activities', 'created_at');
  const ip = n.col('user_activities', 'ip_address');
  return {
    id: 'suspicious_ips',
    sql:
      `SELECT ${ip} AS ip_address, COUNT(*) AS failed_attempts FROM ${n.table('user_activities')}` +
      ` WHERE ${created} >= ? AND ${created} < ? AND ${n.col('user_activities', 'activity_type')} = ? AND ${ip} IS NOT NULL` +
      ` GROUP BY ${withoutIndex(db.dialect, ip)} HAVING COUNT(*) >= ? ORDER BY failed_attempts DESC, ip_address ASC LIMIT ${Math.trunc(s.suspiciousIpLimit) + 1}`,
    params: [p.fromTs, p.toTs, ACTIVITY.loginFailed, s.suspiciousIpThreshold],
    tables: [n.raw('user_activities')],
  };
}

/** The seven statements, in report order (the summary's for the tables that exist). */
export function sectionQueries(
  db: Db,
  map: TableMap,
  p: ReportPeriod,
  s: SectionSettings,
  present: { users: boolean; activities: boolean } = { users: true, activities: true },
): SectionQuery[] {
  return [
    summaryQuery(db, map, p, present),
    topUsersQuery(db, map, p),
    topMoviesQuery(db, map, p),
    topSeriesQuery(db, map, p),
    topSearchTermsQuery(db, map, p),
    activityByTypeQuery(db, map, p),
    suspiciousIpsQuery(db, map, p, s),
  ];
}

function coerce(value: unknown, type: ColumnType): string | number | null {
  if (value === null || value === undefined) return null;
  if (type === 'text')
    return typeof value === 'string' ? value : Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  const num = Number(value);
  return Number.isFinite(num) && String(value).trim() !== '' ? num : String(value);
}

function emptySection(id: SectionId): Section {
  return { id, title: TITLES[id], columns: COLUMNS[id], available: true, rows: [], notes: [] };
}

/** Which of the section's tables are missing (checked once per report). */
async function missingTables(db: Db, tables: readonly string[], cache: Map<string, boolean>): Promise<string[]> {
  const missing: string[] = [];
  for (const t of tables) {
    let exists = cache.get(t);
    if (exists === undefined) {
      exists = await db.tableExists(t);
      cache.set(t, exists);
    }
    if (!exists) missing.push(t);
  }
  return missing;
}

const missingReason = (tables: string[]) =>
  `table${tables.length > 1 ? 's' : ''} ${tables.join(', ')} ${tables.length > 1 ? 'do' : 'does'} not exist`;

/**
 * Computes every section. A section whose table is missing is returned unavailable (with the
 * reason) instead of failing the report; any other database error fails it.
 */
export async function computeSections(
  db: Db,
  map: TableMap,
  p: ReportPeriod,
  s: SectionSettings,
  onSection?: (section: Section, ms: number) => void,
  signal?: AbortSignal,
): Promise<Section[]> {
  const exists = new Map<string, boolean>();
  const usersTable = map.table('users');
  const activitiesTable = map.table('user_activities');
  const present = {
    users: (await missingTables(db, [usersTable], exists)).length === 0,
    activities: (await missingTables(db, [activitiesTable], exists)).length === 0,
  };
  const out: Section[] = [];
  for (const q of sectionQueries(db, map, p, s, present)) {
    if (signal?.aborted) throw signal.reason;
    const t0 = performance.now();
    const section = emptySection(q.id);
    if (q.id === 'summary') {
      const gone = [...(present.users ? [] : [usersTable]), ...(present.activities ? [] : [activitiesTable])];
      if (gone.length === 2) {
        section.available = false;
        section.reason = missingReason(gone);
      } else {
        const row = (await db.queryOne<Record<string, unknown>>(q.sql, q.params)) ?? {};
        for (const m of SUMMARY_METRICS) {
          const table = m.table === 'users' ? usersTable : activitiesTable;
          if (gone.includes(table)) continue;
          section.rows.push({ metric: m.label, value: coerce(row[m.key] ?? 0, 'int') });
        }
        if (gone.length)
          section.notes.push(
            `Unavailable: ${SUMMARY_METRICS.filter((m) =>
              gone.includes(m.table === 'users' ? usersTable : activitiesTable),
            )
              .map((m) => m.label.toLowerCase())
              .join(', ')} (${missingReason(gone)})`,
          );
      }
    } else {
      const gone = await missingTables(db, q.tables, exists);
      if (gone.length) {
        section.available = false;
        section.reason = missingReason(gone);
      } else {
        const rows = await db.query<Record<string, unknown>>(q.sql, q.params);
        if (q.id === 'suspicious_ips' && rows.length > s.suspiciousIpLimit) {
          rows.length = s.suspiciousIpLimit;
          section.truncated = true;
          section.notes.push(
            `Only the first ${s.suspiciousIpLimit} IP addresses are listed (config report.suspiciousIpLimit).`,
          );
        }
        section.rows = rows.map((r) =>
          Object.fromEntries(section.columns.map((c) => [c.key, coerce(r[c.key], c.type)])),
        );
      }
    }
    out.push(section);
    onSection?.(section, performance.now() - t0);
  }
  return out;
}
