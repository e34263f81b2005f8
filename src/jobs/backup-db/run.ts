import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { estimateRows, tableSizeBytes } from '../../db/dialect.js';
import {
  backupCandidateTables,
  checksumTables,
  dumpDatabase,
  objectKinds,
  withScratchDatabase,
} from '../../db/dump/index.js';
import { TableChangedError, type DumpRequest, type DumpResult } from '../../db/dump/types.js';
import { headerLines } from '../../db/dump/format.js';
import { restoreBackup } from '../../db/dump/restore.js';
import type { JobContext } from '../../runner/job.js';
import { AtomicGzipFile } from '../../util/atomic-gzip.js';
import { PartialFailure, throwIfAborted, UsageError } from '../../util/errors.js';
import { formatBytes, formatFileStamp, formatLocalDateTime } from '../../util/time.js';
import { backupFileName, removeOrphanedTempFiles, type BackupType } from './backup-files.js';
import { folderRetention } from '../../backup/folder-retention.js';
import { buildManifest, writeManifest } from '../../backup/manifest.js';
import { checkFreeSpace } from './free-space.js';
import { processAlive } from '../../runner/lock.js';
import type { BackupResult, Resolved, TableVerification } from './index.js';
import { ageEncoder, checkRecipientsUsable } from '../../backup/encrypt.js';
import { checkIdentityOpens } from '../../backup/encryption-config.js';
import { copyToRemotes, remoteSecretsFromEnv } from '../../backup/remotes/index.js';
import { remoteRetention } from '../../backup/remotes/retention.js';

const require = createRequire(import.meta.url);
const { version } = require('../../../package.json') as { version: string };

async function chooseTables(
  ctx: JobContext,
  type: BackupType,
  listed: string[],
): Promise<{ tables: string[]; skipped: string[] }> {
  if (type === 'full') {
    const tables = await backupCandidateTables(ctx.db);
    if (!tables.length) throw new Error(`database ${ctx.db.description} holds no tables to back up`);
    return { tables, skipped: [] };
  }
  const kinds = await objectKinds(ctx.db);
  const tables: string[] = [];
  const skipped: string[] = [];
  for (const t of listed) {
    const kind = kinds.get(t);
    if (kind === 'table' || kind === 'virtual') tables.push(t);
    else if (kind === undefined) skipped.push(t);
    else
      throw new UsageError(
        `config backup.critical names ${t}, which is ${kind === 'other' ? 'not a table' : `a ${kind === 'shadow' ? 'shadow table of a virtual table' : kind}`}: list tables only`,
      );
  }
  if (skipped.length) ctx.warn(`critical tables missing from the database, skipped: ${skipped.join(', ')}`);
  if (!tables.length) throw new Error(`none of the ${listed.length} critical tables exists in ${ctx.db.description}`);
  return { tables, skipped };
}

export async function run(ctx: JobContext, resolved: Resolved): Promise<BackupResult> {
  const { level, retentionDays, dir, encryption, identities, remotes } = resolved;
  // resolve checked the keys' form; the age library's own trial (and the identity's match) runs
  // before anything is read, so a refusal is still exit 2 with no file written.
  if (encryption) await checkRecipientsUsable(encryption.recipients, 'config backup.encrypt.recipients');
  if (encryption && identities) await checkIdentityOpens(encryption, identities);
  if (remotes.length) for (const secret of remoteSecretsFromEnv()) ctx.logger.addSecret(secret);
  const startedAt = ctx.clock.now();
  const stamp = formatFileStamp(startedAt, ctx.timeZone);
  const name = backupFileName(resolved.type, stamp, encryption !== null);
  let { tables, skipped } = await chooseTables(ctx, resolved.type, resolved.criticalTables);
  const base: BackupResult = {
    type: resolved.type,
    file: null,
    bytes: 0,
    tables,
    rows: 0,
    rowsByTable: {},
    skippedTables: skipped,
    views: [],
    triggers: [],
    routines: [],
    events: [],
    sequences: [],
    level,
    ...(encryption ? { encryptedTo: encryption.recipients } : {}),
    retention: { retentionDays, rules: resolved.retentionRules, deleted: [], decisions: [] },
  };

  if (ctx.dryRun) {
    const plan = [];
    for (const t of tables)
      plan.push({
        table: t,
        estimatedRows: await estimateRows(ctx.db, t),
        estimatedBytes: await tableSizeBytes(ctx.db, t),
      });
    for (const p of plan)
      ctx.logger.info(
        `would back up ${p.table}: ~${p.estimatedRows} rows${p.estimatedBytes !== null ? `, ~${formatBytes(p.estimatedBytes)}` : ''}`,
      );
    ctx.logger.info(`would write ${dir}/${name} (gzip level ${level}${encryption ? ', age-encrypted' : ''})`);
    for (const r of remotes) ctx.logger.info(`would copy it to ${r.url}`);
    const pending = { name, type: resolved.type, time: formatLocalDateTime(startedAt, ctx.timeZone) };
    base.retention = applyRetention(ctx, dir, resolved.type, base.retention, pending);
    base.retention = await applyRemoteRetention(ctx, resolved, base.retention, pending);
    return { ...base, file: `${dir}/${name}`, plan, rows: plan.reduce((s, p) => s + p.estimatedRows, 0) };
  }

  await checkFreeSpace(ctx, dir, resolved.type, tables, resolved.freeSpaceMarginBytes);
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new Error(`cannot create backup folder ${dir}: ${(err as Error).message}`, { cause: err });
  }
  for (const orphan of removeOrphanedTempFiles(dir, processAlive))
    ctx.logger.warn(`removed ${orphan}, left by a backup whose process died mid-write`);
  ctx.logger.step(`backing up ${tables.length} table(s) to ${dir}`);
  let finalPath: string;
  let dumped: DumpResult;
  let sqlBytes: number;
  for (let attempt = 1; ; attempt++) {
    const file = new AtomicGzipFile(dir, name, level, encryption ? { encode: ageEncoder(encryption.recipients) } : {});
    try {
      dumped = await dumpDatabase(ctx.db, file, dumpRequest(ctx, resolved, tables, startedAt));
      throwIfAborted(ctx.signal);
      finalPath = await file.commit(name);
      sqlBytes = file.inputBytes;
      writeManifest(
        finalPath,
        buildManifest({
          backupPath: finalPath,
          type: resolved.type,
          version,
          engine: ctx.db.dialect,
          createdAt: formatLocalDateTime(startedAt, ctx.timeZone),
          createdAtUtc: startedAt.toISOString(),
          dumped,
          sqlBytes: file.inputBytes,
          bytes: file.writtenBytes,
          sha256: file.sha256 ?? '',
        }),
      );
      break;
    } catch (err) {
      file.abort();
      // A table changed under the snapshot: once more from a fresh snapshot (and table list), then give up.
      if (!(err instanceof TableChangedError)) throw err;
      if (attempt > 1) throw new Error(`${err.message}, again on the retry: no backup written`, { cause: err });
      ctx.logger.warn(`${err.message}: starting again from a fresh snapshot`);
      ({ tables, skipped } = await chooseTables(ctx, resolved.type, resolved.criticalTables));
    }
  }
  for (const w of dumped.warnings) ctx.warn(w);
  const bytes = fs.statSync(finalPath).size;
  const rowsByTable = Object.fromEntries(dumped.tables.map((t) => [t.name, t.rows]));
  const rows = dumped.tables.reduce((s, t) => s + t.rows, 0);
  logSeedDetail(ctx, dumped.tables, sqlBytes, bytes);
  ctx.logger.info(`wrote ${finalPath} (${formatBytes(bytes)}, ${rows} rows in ${dumped.tables.length} tables)`);
  const result: BackupResult = {
    ...base,
    file: finalPath,
    bytes,
    rows,
    rowsByTable,
    tables,
    skippedTables: skipped,
    views: dumped.views,
    triggers: dumped.triggers,
    routines: dumped.routines,
    events: dumped.events,
    sequences: dumped.sequences,
  };

  if (resolved.verify) {
    ctx.logger.step('verifying: restoring into a scratch database and comparing checksums');
    const expected = new Map(dumped.tables.map((t) => [t.name, t]));
    const restored = await withScratchDatabase(ctx.db, async (scratch) => {
      await restoreBackup(scratch, finalPath, { signal: ctx.signal, identities });
      return checksumTables(scratch, tables);
    });
    const checks: TableVerification[] = restored.map((r) => {
      const e = expected.get(r.table);
      return {
        table: r.table,
        rows: e?.rows ?? -1,
        restoredRows: r.rows,
        checksum: r.checksum,
        match: e !== undefined && e.rows === r.rows && e.checksum === r.checksum,
      };
    });
    result.verified = { ok: checks.every((c) => c.match), tables: checks };
    const bad = checks.filter((c) => !c.match);
    if (bad.length) {
      // The file stays: it may still be the best copy there is. The run fails so someone looks.
      throw new PartialFailure(
        `verification failed: ${bad.map((b) => `${b.table} (${b.rows} rows backed up, ${b.restoredRows} restored)`).join(', ')}`,
        result,
      );
    }
    ctx.logger.info(`verified: ${checks.length} tables restore with identical row counts and checksums`);
  }

  if (remotes.length) {
    ctx.logger.step(`copying ${path.basename(finalPath)} to ${remotes.length} remote(s)`);
    result.remotes = await copyToRemotes(finalPath, remotes, {
      config: ctx.config,
      sleep: ctx.sleep,
      signal: ctx.signal,
      log: (m) => ctx.logger.info(m),
      warn: (m) => ctx.warn(m),
    });
    const failed = result.remotes.filter((c) => !c.ok);
    if (failed.length)
      // Retention waits for a run whose copies all succeed: the older files may be the only good ones off-site.
      throw new PartialFailure(
        `off-site copy failed: ${failed.map((f) => `${f.remote} (${f.error})`).join('; ')}; kept the local file ${finalPath}${failed.length < result.remotes.length ? ' and the other remote copies' : ''}`,
        result,
      );
  }

  result.retention = applyRetention(ctx, dir, resolved.type, result.retention);
  result.retention = await applyRemoteRetention(ctx, resolved, result.retention);
  return result;
}

/** GFS retention over this type's files only (a dry run plans it, with the would-be file as the newest). */
function applyRetention(
  ctx: JobContext,
  dir: string,
  type: BackupType,
  before: BackupResult['retention'],
  pending?: { name: string; type: string; time: string },
): BackupResult['retention'] {
  const now = formatLocalDateTime(ctx.clock.now(), ctx.timeZone);
  const { decisions, deleted } = folderRetention(dir, [type], ctx.config, now, { dryRun: ctx.dryRun, pending });
  for (const d of decisions)
    if (!d.keep || ctx.dryRun)
      ctx.logger.info(
        `retention: ${d.keep ? 'would keep' : ctx.dryRun ? 'would delete' : 'deleted'} ${d.name} (${d.reasons.join('; ')})`,
      );
  return { ...before, deleted, decisions: decisions.map((d) => ({ name: d.name, keep: d.keep, reasons: d.reasons })) };
}

/**
 * The same rules over each remote's copies of this type (only after every copy of this run
 * succeeded: a failed one throws before). A remote that cannot be swept is a warning: its
 * older copies stay, nothing is lost.
 */
async function applyRemoteRetention(
  ctx: JobContext,
  resolved: Resolved,
  before: BackupResult['retention'],
  pending?: { name: string; type: string; time: string },
): Promise<BackupResult['retention']> {
  if (!resolved.remotes.length) return before;
  const now = formatLocalDateTime(ctx.clock.now(), ctx.timeZone);
  const swept = await remoteRetention(resolved.remotes, ctx.config, {
    type: resolved.type,
    rules: resolved.retentionRules,
    now,
    dryRun: ctx.dryRun,
    pending,
  });
  for (const r of swept) {
    if (r.error) ctx.warn(`retention on ${r.remote} skipped: ${r.error}`);
    for (const d of r.decisions)
      if (!d.keep || ctx.dryRun)
        ctx.logger.info(
          `retention on ${r.remote}: ${d.keep ? 'would keep' : ctx.dryRun ? 'would delete' : 'deleted'} ${d.name} (${d.reasons.join('; ')})`,
        );
  }
  return { ...before, remotes: swept };
}

function dumpRequest(ctx: JobContext, resolved: Resolved, tables: string[], startedAt: Date): DumpRequest {
  return {
    tables,
    includeViewsAndTriggers: resolved.type === 'full',
    headerLines: headerLines(
      {
        engine: ctx.db.dialect,
        type: resolved.type,
        tables,
        created: formatLocalDateTime(startedAt, ctx.timeZone),
        source: ctx.db.description,
      },
      version,
    ),
    footerLine: () => `webjobs backup completed ${formatLocalDateTime(ctx.clock.now(), ctx.timeZone)}`,
    signal: ctx.signal,
    onProgress: (p) => ctx.logger.progress({ step: `backing up ${p.table}`, done: p.rowsDone, total: p.rowsEstimate }),
    checksums: resolved.verify,
    maxStatementBytes: resolved.maxStatementBytes,
  };
}

/** The seed's debug lines (`--verbose`): one per table with its rows, then the compression figures. */
function logSeedDetail(
  ctx: JobContext,
  tables: ReadonlyArray<{ name: string; rows: number }>,
  rawBytes: number,
  gzipBytes: number,
): void {
  for (const t of tables) ctx.logger.debug(`table backed up (table: ${t.name}, rows: ${t.rows})`);
  const saved = rawBytes > 0 ? ((1 - gzipBytes / rawBytes) * 100).toFixed(2) : '0.00';
  ctx.logger.debug(
    `backup compressed (original: ${formatBytes(rawBytes)}, compressed: ${formatBytes(gzipBytes)}, ratio: ${saved}%; ${rawBytes} → ${gzipBytes} bytes)`,
  );
}
