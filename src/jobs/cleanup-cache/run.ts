import { optimizeTable, tableOptimization, tableSizeBytes } from '../../db/dialect.js';
import { countMatching } from '../../db/purge.js';
import type { JobContext } from '../../runner/job.js';
import { JobSkipped, UsageError } from '../../util/errors.js';
import { formatBytes, formatDuration, formatLocalDateTime } from '../../util/time.js';
import { runPurge } from '../purge-run.js';
import type { CleanupCacheResult, Resolved } from './index.js';

export async function run(ctx: JobContext, resolved: Resolved): Promise<CleanupCacheResult> {
  const { layout, purge: options } = resolved;
  const enabled = ctx.settings.bool('cache-cleanup-enabled');
  if (!enabled && !resolved.force)
    throw new JobSkipped('cache cleanup is disabled (setting cache-cleanup-enabled = 0); --force runs it anyway', {
      setting: 'cache-cleanup-enabled',
    });
  if (!enabled) ctx.logger.info('cache-cleanup-enabled is 0, running because of --force');
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
      `would delete ${result.rowsDeleted} expired rows of ${layout.table} (${layout.expiryColumn} before ${expiredBefore}) in chunks of ${options.chunk ?? 5000}, then ${tableOptimization(ctx.db, layout.table, resolved.vacuum).name}`,
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

  if (res.deleted > 0 || resolved.vacuum) result.optimized = await optimizeTable(ctx.db, layout.table, resolved.vacuum);
  result.sizeAfterBytes = await tableSizeBytes(ctx.db, layout.table);
  if (result.sizeBeforeBytes !== null && result.sizeAfterBytes !== null)
    result.spaceReclaimedBytes = Math.max(0, result.sizeBeforeBytes - result.sizeAfterBytes);
  if (result.spaceReclaimedBytes !== null)
    ctx.logger.info(
      `${layout.table}: ${formatBytes(result.spaceReclaimedBytes)} reclaimed${result.optimized ? ` (${result.optimized})` : ''}`,
    );
  return result;
}
