import { purgeInChunks, type PurgeResult } from '../db/purge.js';
import { ReplicaWatch, replicaUrls } from '../db/replication.js';
import type { JobContext } from '../runner/job.js';
import type { PurgeOptions } from './purge-options.js';

const DEFAULT_CHUNK = 5000;
/**
 * Without `--chunk`, chunks start at DEFAULT_CHUNK and may grow up to this while each DELETE
 * stays under the statement target (fewer round trips and commits on a fast server); an
 * explicit `--chunk N` is a hard maximum.
 */
const DEFAULT_MAX_CHUNK = 25_000;

interface PurgeRun {
  table: string;
  keyColumn: string;
  where: string;
  params: readonly unknown[];
  /** What is being purged, for log lines ("expired cache rows"). */
  what: string;
  /** The highest key that can match, when known cheaply (see PurgeSpec.ceiling). */
  ceiling?: unknown;
  /** The time column `where` bounds: walk it through its index (see PurgeSpec.orderColumn). */
  orderColumn?: string;
}

/** The DELETE duration chunks adapt to (config purge.targetStatementMs, default 60 ms). */
export function targetStatementMs(ctx: JobContext): number {
  return ctx.config.value('purge.targetStatementMs');
}

/**
 * Runs the shared chunked purge with the job's options, clock, sleep, cancellation, replica
 * watch and progress lines. The budget is measured on ctx.clock (tests move it by hand).
 */
export async function runPurge(
  ctx: JobContext,
  run: PurgeRun,
  o: PurgeOptions,
  budgetStartMs?: number,
): Promise<PurgeResult> {
  let watch: ReplicaWatch | null = null;
  if (o.maxLagSeconds !== undefined) {
    const urls = ctx.db.dialect === 'mysql' ? replicaUrls(ctx.config) : [];
    if (urls.length) watch = await ReplicaWatch.open(urls);
    else ctx.logger.info('--max-lag: no replicas configured (config database.replicas), nothing to wait for');
  }
  const clockMs = () => ctx.clock.now().getTime();
  const started = budgetStartMs ?? clockMs();
  try {
    const result = await purgeInChunks(ctx.db, {
      table: run.table,
      keyColumn: run.keyColumn,
      orderColumn: run.orderColumn,
      where: run.where,
      params: run.params,
      chunkSize: o.chunk ?? DEFAULT_CHUNK,
      maxChunkSize: o.chunk ?? DEFAULT_MAX_CHUNK,
      targetStatementMs: targetStatementMs(ctx),
      ceiling: run.ceiling,
      signal: ctx.signal,
      sleepMs: o.sleepMs ?? 0,
      sleep: ctx.sleep,
      now: clockMs,
      maxRuntimeMs:
        o.maxRuntimeSeconds === undefined ? undefined : Math.max(0, o.maxRuntimeSeconds * 1000 - (clockMs() - started)),
      maxLagSeconds: watch ? o.maxLagSeconds : undefined,
      replicaLag: watch ? () => watch.lag() : undefined,
      onLagWait: (lag) =>
        ctx.logger.info(
          `replicas lag ${lag === null ? 'unknown (replication not running)' : `${lag} s`}: waiting before the next chunk`,
        ),
      onChunk: (p) => ctx.logger.progress({ step: `deleting ${run.what}`, done: p.deleted, unit: 'rows' }),
    });
    if (run.orderColumn !== undefined && result.walkedBy === null && result.deleted > 0) logNoOrderIndex(ctx, run);
    return result;
  } finally {
    await watch?.close();
  }
}

/** Without an index on the time column the purge read the whole key range: say which index would spare that. */
export function logNoOrderIndex(ctx: JobContext, run: { table: string; orderColumn?: string }): void {
  ctx.logger.info(
    `${run.table} has no index on ${run.orderColumn} alone: the purge walked the whole primary key; an index on (${run.orderColumn}) lets it read only the rows it deletes`,
  );
}
