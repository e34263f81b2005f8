import type { Config } from '../../config/config.js';
import type { Settings } from '../../config/settings.js';
import { TableMap } from '../../config/tables.js';

import { defineJob, runFrom } from '../definition.js';
import { PURGE_OPTIONS, resolvePurgeOptions, type PurgeOptions } from '../purge-options.js';

export interface CleanupCacheOptions extends PurgeOptions {
  /** Run even when the setting cache-cleanup-enabled is 0. */
  force?: boolean;
  /** Full VACUUM (SQLite) / OPTIMIZE TABLE (MariaDB) afterwards, reclaiming the space. */
  vacuum?: boolean;
}

export interface CleanupCacheResult {
  table: string;
  expiryColumn: string;
  expiry: ExpiryFormat;
  /** Rows past this moment (as the column stores it) were deleted. */
  expiredBefore: string | number;
  rowsDeleted: number;
  chunks: number;
  longestStatementMs: number;
  sizeBeforeBytes: number | null;
  sizeAfterBytes: number | null;
  /** Bytes the engine reports freed (null where it does not report a table's size). */
  spaceReclaimedBytes: number | null;
  optimized: string | null;
  stoppedEarly: string | null;
  remaining: number;
}

export type ExpiryFormat = 'datetime' | 'unix-seconds';

export interface CacheLayout {
  table: string;
  keyColumn: string;
  expiryColumn: string;
  expiry: ExpiryFormat;
}

/** The run's options and the cache table's layout, checked. */
export interface Resolved {
  force: boolean;
  vacuum: boolean;
  purge: PurgeOptions;
  layout: CacheLayout;
}

function resolve(config: Config, _settings: Settings, options: CleanupCacheOptions): Resolved {
  return {
    force: Boolean(options.force),
    vacuum: Boolean(options.vacuum),
    purge: resolvePurgeOptions(config, options),
    layout: cacheLayout(config, new TableMap(config)),
  };
}

/**
 * The cache table's layout: the reference `cache(key, value, expires_at DATETIME)` by default;
 * config `cleanupCache.layout: "laravel"` switches to Laravel's `cache(key, value, expiration)`
 * in unix seconds; `tables.cache.*` renames anything and `cleanupCache.expiry` picks the format.
 */
export function cacheLayout(config: Config, tables: TableMap): CacheLayout {
  const laravel = config.value('cleanupCache.layout') === 'laravel';
  const expiry = config.value('cleanupCache.expiry') ?? (laravel ? 'unix-seconds' : 'datetime');
  const mappedExpiry = config.get('tables.cache.columns.expires_at');
  return {
    table: tables.table('cache'),
    keyColumn: tables.column('cache', 'key'),
    expiryColumn: mappedExpiry === undefined && laravel ? 'expiration' : tables.column('cache', 'expires_at'),
    expiry,
  };
}

export const cleanupCacheJob = defineJob<CleanupCacheOptions, Resolved, CleanupCacheResult>({
  name: 'cleanup-cache',
  description: 'Delete expired cache rows in short chunks (the app keeps working), then optimize the table',
  schedule: { cron: '0 3 * * *', args: [], purpose: 'delete expired cache rows' },
  settingKeys: ['cache-cleanup-enabled'],
  timeoutSeconds: 3600,
  examples: [
    'webjobs cleanup-cache',
    'webjobs cleanup-cache --chunk 2000 --sleep 50 --max-runtime 600',
    'webjobs cleanup-cache --dry-run --json',
  ],
  options: [
    { flags: '--force', description: 'run even when the setting cache-cleanup-enabled is 0' },
    { flags: '--vacuum', description: 'VACUUM (SQLite) / OPTIMIZE TABLE (MariaDB) afterwards to reclaim space' },
    ...PURGE_OPTIONS,
  ],
  resolve,
  run: runFrom(() => import('./run.js')),
});

export default cleanupCacheJob;
