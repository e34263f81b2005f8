import type { Config } from '../../config/config.js';
import { TableMap } from '../../config/tables.js';
import { optimizeTable, tableSizeBytes } from '../../db/dialect.js';
import { countMatching } from '../../db/purge.js';
import type { JobContext, JobDefinition } from '../../runner/job.js';
import { JobSkipped, UsageError } from '../../util/errors.js';
import { formatBytes, formatDuration, formatLocalDateTime } from '../../util/time.js';
import { checkPurgeConfig, checkPurgeOptions, runPurge, type PurgeOptions } from '../purge-options.js';

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

/**
 * The cache table's layout: the reference `cache(key, value, expires_at DATETIME)` by default;
 * config `cleanupCache.layout: "laravel"` switches to Laravel's `cache(key, value, expiration)`
 * in unix seconds; `tables.cache.*` renames anything and `cleanupCache.expiry` picks the format.
 */
export function cacheLayout(config: Config, tables: TableMap): CacheLayout {
  const layout = config.string('cleanupCache.layout', 'reference');
  if (layout !== 'reference' && layout !== 'laravel')
    throw new UsageError(`config cleanupCache.layout must be "reference" or "laravel", got ${JSON.stringify(layout)}`);
  const laravel = layout === 'laravel';
  const expiry = config.string('cleanupCache.expiry', laravel ? 'unix-seconds' : 'datetime');
  if (expiry !== 'datetime' && expiry !== 'unix-seconds')
    throw new UsageError(
      `config cleanupCache.expiry must be "datetime" or "unix-seconds", got ${JSON.stringify(expiry)}`,
    );
  const mappedExpiry = config.get('tables.cache.columns.expires_at');
  return {
    table: tables.table('cache'),
    keyColumn: tables.column('cache', 'key'),
    expiryColumn: mappedExpiry === undefined && laravel ? 'expiration' : tables.column('cache', 'expires_at'),
    expiry,
  };
}

async function run(ctx: JobContext, options: CleanupCacheOptions): Promise<CleanupCacheResult> {
  const enabled = ctx.settings.bool('cache-cleanup-enabled');
  if (!enabled && !options.force)
    throw new JobSkipped('cache cleanup is disabled (setting cache-cleanup-enabled = 0); --force runs it anyway', {
      setting: 'cache-cleanup-enabled',
    });
  if (!enabled) ctx.logger.info('cache-cleanup-enabled is 0, running because of --force');
  const layout = cacheLayout(ctx.config, ctx.tables);
  if (!(await ctx.db.tableExists(layout.table)))
    throw new Error(`table ${layout.table} does not exist in ${ctx.db.description}`);
  const columns = await ctx.db.columnsOf(layout.table);
  for (const c of [layout.keyColumn, layout.expiryColumn]) {
    if (!columns.includes(c))
      throw new UsageError(
        `table ${layout.table} has no column ${c} (columns: ${columns.join(', ')}); set config tables.cache.columns or cleanupCache.layout`,
      );
  }
  const now = ctx.clock.now();
  const e = ctx.db.quote(layout.expiryColumn);
  const expiredBefore =
    layout.expiry === 'unix-seconds' ? Math.floor(now.getTime() / 1000) : formatLocalDateTime(now, ctx.timeZone);
  // Laravel treats expiration <= now as expired; the reference schema's seed deletes expires_at < NOW().
  const where = layout.expiry === 'unix-seconds' ? `${e} <= ?` : `${e} < ?`;
  const result: CleanupCacheResult = {
    table: layout.table,
    expiryColumn: layout.expiryColumn,
    expiry: layout.expiry,
    expiredBefore,
    rowsDeleted: 0,
    chunks: 0,
    longestStatementMs: 0,
    sizeBeforeBytes: await tableSizeBytes(ctx.db, layout.table),
    sizeAfterBytes: null,
    spaceReclaimedBytes: null,
    optimized: null,
    stoppedEarly: null,
    remaining: 0,
  };

  if (ctx.dryRun) {
    result.rowsDeleted = await countMatching(ctx.db, layout.table, where, [expiredBefore]);
    result.sizeAfterBytes = result.sizeBeforeBytes;
    ctx.logger.info(
      `would delete ${result.rowsDeleted} expired rows of ${layout.table} (${layout.expiryColumn} before ${expiredBefore}) in chunks of ${options.chunk ?? 5000}, then ${optimizeName(ctx, options.vacuum)}`,
    );
    return result;
  }

  ctx.logger.step(`deleting expired rows of ${layout.table} (${layout.expiryColumn} before ${expiredBefore})`);
  const t0 = performance.now();
  const res = await runPurge(
    ctx,
    {
      table: layout.table,
      keyColumn: layout.keyColumn,
      where,
      params: [expiredBefore],
      what: `expired ${layout.table} rows`,
    },
    options,
  );
  result.rowsDeleted = res.deleted;
  result.chunks = res.chunks;
  result.longestStatementMs = Math.round(res.longestStatementMs);
  result.stoppedEarly = res.stoppedEarly;
  result.remaining = res.remaining;
  ctx.logger.info(
    `deleted ${res.deleted} expired rows in ${res.chunks} chunk(s) in ${formatDuration(performance.now() - t0)}; longest statement ${result.longestStatementMs} ms`,
  );
  if (res.stoppedEarly)
    ctx.warn(`stopped after --max-runtime with ${res.remaining} expired rows left; the next run continues`);

  if (res.deleted > 0 || options.vacuum) {
    await optimizeTable(ctx.db, layout.table, Boolean(options.vacuum));
    result.optimized = optimizeName(ctx, options.vacuum);
  }
  result.sizeAfterBytes = await tableSizeBytes(ctx.db, layout.table);
  if (result.sizeBeforeBytes !== null && result.sizeAfterBytes !== null)
    result.spaceReclaimedBytes = Math.max(0, result.sizeBeforeBytes - result.sizeAfterBytes);
  if (result.spaceReclaimedBytes !== null)
    ctx.logger.info(
      `${layout.table}: ${formatBytes(result.spaceReclaimedBytes)} reclaimed${result.optimized ? ` (${result.optimized})` : ''}`,
    );
  return result;
}

function optimizeName(ctx: JobContext, vacuum?: boolean): string {
  if (ctx.db.dialect === 'sqlite') return vacuum ? 'VACUUM' : 'PRAGMA optimize';
  return vacuum ? 'OPTIMIZE TABLE' : 'ANALYZE TABLE';
}

export const cleanupCacheJob: JobDefinition<CleanupCacheOptions, CleanupCacheResult> = {
  name: 'cleanup-cache',
  settingKeys: ['cache-cleanup-enabled'],
  description: 'Delete expired rows of the cache table in short chunks, then optimize it',
  timeoutSeconds: 3600,
  checkConfig(config, options) {
    checkPurgeOptions(options);
    checkPurgeConfig(config);
    cacheLayout(config, new TableMap(config));
  },
  run,
};
