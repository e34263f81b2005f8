import { insertIgnoreVerb } from './dialect.js';
import type { Db, Dialect } from './types.js';

/**
 * The reference schema of DESIGN.md, written once as data and rendered for each engine.
 * Besides the seeds' tables it holds the rest of seed 002's critical tables (genres,
 * watchlists…), so `backup-db --type critical` on the demo database backs up all fourteen.
 */
type ColumnType =
  'id' | 'int' | 'bigint' | 'string' | 'key' | 'text' | 'datetime' | 'date' | 'bool' | 'decimal' | 'json';

interface ColumnSpec {
  name: string;
  type: ColumnType;
  notNull?: boolean;
  default?: string;
}

interface TableSpec {
  name: string;
  columns: ColumnSpec[];
  primaryKey?: string[];
  unique?: string[][];
  indexes?: string[][];
}

const c = (name: string, type: ColumnType, extra: Partial<ColumnSpec> = {}): ColumnSpec => ({ name, type, ...extra });
const id = c('id', 'id');

export const REFERENCE_TABLES: TableSpec[] = [
  { name: 'settings', columns: [c('key', 'key', { notNull: true }), c('value', 'text')], primaryKey: ['key'] },
  {
    name: 'api_requests',
    columns: [
      id,
      c('widget_id', 'int', { notNull: true }),
      c('platform', 'string'),
      c('status_code', 'int', { notNull: true }),
      c('response_time_ms', 'int', { notNull: true }),
      c('cache_hit', 'bool', { notNull: true, default: '0' }),
      c('created_at', 'datetime', { notNull: true }),
    ],
    indexes: [['created_at'], ['widget_id']],
  },
  {
    name: 'api_statistics_summary',
    columns: [
      c('date', 'date', { notNull: true }),
      c('total_requests', 'int', { notNull: true, default: '0' }),
      c('cache_hits', 'int', { notNull: true, default: '0' }),
      c('error_count', 'int', { notNull: true, default: '0' }),
      c('avg_response_ms', 'decimal'),
      c('max_response_ms', 'int'),
      c('unique_widgets', 'int', { notNull: true, default: '0' }),
    ],
    primaryKey: ['date'],
  },
  {
    name: 'cache',
    columns: [c('key', 'key', { notNull: true }), c('value', 'text'), c('expires_at', 'datetime')],
    primaryKey: ['key'],
    indexes: [['expires_at']],
  },
  {
    name: 'users',
    columns: [
      id,
      c('username', 'string', { notNull: true }),
      c('email', 'string', { notNull: true }),
      c('created_at', 'datetime'),
      c('last_activity_at', 'datetime'),
      c('email_verified_at', 'datetime'),
    ],
    indexes: [['created_at'], ['last_activity_at']],
  },
  {
    name: 'user_activities',
    columns: [
      id,
      c('user_id', 'int', { notNull: true }),
      c('activity_type', 'string', { notNull: true }),
      c('subject_id', 'int'),
      c('search_term', 'string'),
      c('ip_address', 'string'),
      c('created_at', 'datetime', { notNull: true }),
    ],
    indexes: [['created_at', 'activity_type'], ['user_id']],
  },
  { name: 'movies', columns: [id, c('title', 'string', { notNull: true }), c('year', 'int'), c('rating', 'decimal')] },
  { name: 'series', columns: [id, c('title', 'string', { notNull: true }), c('year', 'int'), c('rating', 'decimal')] },
  {
    name: 'series_seasons',
    columns: [
      id,
      c('series_id', 'int', { notNull: true }),
      c('season_number', 'int', { notNull: true }),
      c('title', 'string'),
    ],
  },
  {
    name: 'series_episodes',
    columns: [
      id,
      c('season_id', 'int', { notNull: true }),
      c('episode_number', 'int', { notNull: true }),
      c('title', 'string'),
    ],
  },
  { name: 'genres', columns: [id, c('name', 'string', { notNull: true })] },
  {
    name: 'movie_genre',
    columns: [c('movie_id', 'int', { notNull: true }), c('genre_id', 'int', { notNull: true })],
    primaryKey: ['movie_id', 'genre_id'],
  },
  {
    name: 'series_genre',
    columns: [c('series_id', 'int', { notNull: true }), c('genre_id', 'int', { notNull: true })],
    primaryKey: ['series_id', 'genre_id'],
  },
  {
    name: 'movie_sources',
    columns: [
      id,
      c('movie_id', 'int', { notNull: true }),
      c('url', 'string', { notNull: true }),
      c('quality', 'string'),
    ],
  },
  {
    name: 'watchlists',
    columns: [
      id,
      c('user_id', 'int', { notNull: true }),
      c('movie_id', 'int'),
      c('series_id', 'int'),
      c('created_at', 'datetime'),
    ],
  },
  {
    name: 'invite_codes',
    columns: [
      id,
      c('code', 'string', { notNull: true }),
      c('created_by', 'int'),
      c('used_by', 'int'),
      c('expires_at', 'datetime'),
    ],
  },
  { name: 'roles', columns: [id, c('name', 'string', { notNull: true })] },
  { name: 'permissions', columns: [id, c('name', 'string', { notNull: true })] },
  {
    name: 'role_permission',
    columns: [c('role_id', 'int', { notNull: true }), c('permission_id', 'int', { notNull: true })],
    primaryKey: ['role_id', 'permission_id'],
  },
  {
    name: 'websites',
    columns: [
      id,
      c('name', 'string', { notNull: true }),
      c('domain', 'string', { notNull: true }),
      c('status', 'string', { notNull: true, default: "'active'" }),
      c('verification_token', 'string'),
      c('verification_expires_at', 'datetime'),
      c('last_stats_processed', 'datetime'),
    ],
  },
  {
    name: 'website_statistics',
    columns: [
      id,
      c('website_id', 'int', { notNull: true }),
      c('date', 'date', { notNull: true }),
      c('statistics_data', 'json'),
      c('api_requests_count', 'int', { default: '0' }),
      c('average_response_time', 'decimal'),
      c('page_views', 'int', { default: '0' }),
      c('unique_visitors', 'int', { default: '0' }),
      c('error_count', 'int', { default: '0' }),
      c('auth_errors', 'int', { default: '0' }),
      c('rate_limit_exceeded', 'int', { default: '0' }),
      c('created_at', 'datetime'),
      c('updated_at', 'datetime'),
    ],
    unique: [['website_id', 'date']],
  },
  {
    name: 'website_statistics_monthly',
    columns: [
      c('website_id', 'int', { notNull: true }),
      c('year', 'int', { notNull: true }),
      c('month', 'int', { notNull: true }),
      c('summary_data', 'json'),
    ],
    primaryKey: ['website_id', 'year', 'month'],
  },
  {
    name: 'api_keys',
    columns: [
      id,
      c('website_id', 'int'),
      c('status', 'string', { notNull: true, default: "'active'" }),
      c('expires_at', 'datetime'),
      c('last_used_at', 'datetime'),
      c('created_at', 'datetime'),
      c('deactivated_at', 'datetime'),
      c('deactivated_reason', 'string'),
    ],
  },
  {
    name: 'sessions',
    columns: [
      c('id', 'key', { notNull: true }),
      c('user_id', 'int'),
      c('payload', 'text'),
      c('last_activity', 'bigint', { notNull: true }),
    ],
    primaryKey: ['id'],
    indexes: [['last_activity']],
  },
  {
    name: 'personal_access_tokens',
    columns: [id, c('name', 'string'), c('expires_at', 'datetime')],
    indexes: [['expires_at']],
  },
];

function columnType(dialect: Dialect, col: ColumnSpec): string {
  const sqlite: Record<ColumnType, string> = {
    id: 'INTEGER PRIMARY KEY AUTOINCREMENT',
    int: 'INTEGER',
    bigint: 'INTEGER',
    string: 'TEXT',
    key: 'TEXT',
    text: 'TEXT',
    datetime: 'TEXT',
    date: 'TEXT',
    bool: 'INTEGER',
    decimal: 'REAL',
    json: 'TEXT',
  };
  const mysql: Record<ColumnType, string> = {
    id: 'BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY',
    int: 'INT',
    bigint: 'BIGINT',
    string: 'VARCHAR(255)',
    key: 'VARCHAR(191)',
    text: 'MEDIUMTEXT',
    datetime: 'DATETIME',
    date: 'DATE',
    bool: 'TINYINT(1)',
    decimal: 'DECIMAL(10,2)',
    json: 'LONGTEXT',
  };
  return (dialect === 'sqlite' ? sqlite : mysql)[col.type];
}

export function createTableSql(db: Db, spec: TableSpec): string[] {
  const q = (n: string) => db.quote(n);
  const defs = spec.columns.map((col) => {
    let def = `${q(col.name)} ${columnType(db.dialect, col)}`;
    if (col.notNull && col.type !== 'id') def += ' NOT NULL';
    if (col.default !== undefined) def += ` DEFAULT ${col.default}`;
    return def;
  });
  if (spec.primaryKey) defs.push(`PRIMARY KEY (${spec.primaryKey.map(q).join(', ')})`);
  for (const u of spec.unique ?? []) defs.push(`UNIQUE (${u.map(q).join(', ')})`);
  const tail = db.dialect === 'mysql' ? ' ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci' : '';
  const out = [`CREATE TABLE IF NOT EXISTS ${q(spec.name)} (\n  ${defs.join(',\n  ')}\n)${tail}`];
  for (const idx of spec.indexes ?? []) {
    const name = `idx_${spec.name}_${idx.join('_')}`;
    out.push(
      db.dialect === 'sqlite'
        ? `CREATE INDEX IF NOT EXISTS ${q(name)} ON ${q(spec.name)} (${idx.map(q).join(', ')})`
        : `CREATE INDEX ${q(name)} ON ${q(spec.name)} (${idx.map(q).join(', ')})`,
    );
  }
  return out;
}

export const DEFAULT_SETTINGS: ReadonlyArray<readonly [string, string]> = [
  ['cache-statistics-retention-days', '30'],
  ['cache-cleanup-enabled', '1'],
  ['cache-warming-enabled', '0'],
  ['cache-warming-widget-count', '10'],
  ['circuit-breaker-enabled', '1'],
  ['circuit-breaker-failure-threshold', '5'],
  ['circuit-breaker-timeout-seconds', '600'],
  ['circuit-breaker-half-open-requests', '3'],
];

/** Creates every reference table that is missing (existing ones are left alone) and seeds the settings. */
export async function createReferenceSchema(db: Db): Promise<string[]> {
  const created: string[] = [];
  for (const spec of REFERENCE_TABLES) {
    if (await db.tableExists(spec.name)) continue;
    for (const stmt of createTableSql(db, spec)) await db.execute(stmt);
    created.push(spec.name);
  }
  const verb = insertIgnoreVerb(db.dialect);
  for (const [key, value] of DEFAULT_SETTINGS) {
    await db.execute(`${verb} INTO ${db.quote('settings')} (${db.quote('key')}, ${db.quote('value')}) VALUES (?, ?)`, [
      key,
      value,
    ]);
  }
  return created;
}
