import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { estimateRows, tableSizeBytes } from '../../db/dialect.js';
import { backupCandidateTables, checksumTables, dumpDatabase, withScratchDatabase } from '../../db/dump/index.js';
import { headerLines } from '../../db/dump/format.js';
import { restoreBackup } from '../../db/dump/restore.js';
import type { JobContext } from '../../runner/job.js';
import { AtomicGzipFile } from '../../util/atomic-gzip.js';
import { PartialFailure, throwIfAborted } from '../../util/errors.js';
import { formatBytes, formatFileStamp, formatLocalDateTime } from '../../util/time.js';
import { applyRetention, backupFileName, removeOrphanedTempFiles, type BackupType } from './backup-files.js';
import { processAlive } from '../../runner/lock.js';
import type { BackupResult, Resolved, TableVerification } from './index.js';
import { ageEncoder, checkRecipientsUsable } from '../../backup/encrypt.js';
import { checkIdentityOpens } from '../../backup/encryption-config.js';
import { copyToRemotes, remoteSecretsFromEnv } from '../../backup/remotes/index.js';

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
  const tables: string[] = [];
  const skipped: string[] = [];
  for (const t of listed) {
    if (await ctx.db.tableExists(t)) tables.push(t);
    else skipped.push(t);
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
  const { tables, skipped } = await chooseTables(ctx, resolved.type, resolved.criticalTables);
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
    level,
    ...(encryption ? { encryptedTo: encryption.recipients } : {}),
    retention: { retentionDays, deleted: [] },
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
    return { ...base, file: `${dir}/${name}`, plan, rows: plan.reduce((s, p) => s + p.estimatedRows, 0) };
  }

  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new Error(`cannot create backup folder ${dir}: ${(err as Error).message}`, { cause: err });
  }
  for (const orphan of removeOrphanedTempFiles(dir, processAlive))
    ctx.logger.warn(`removed ${orphan}, left by a backup whose process died mid-write`);
  ctx.logger.step(`backing up ${tables.length} table(s) to ${dir}`);
  const file = new AtomicGzipFile(dir, name, level, encryption ? { encode: ageEncoder(encryption.recipients) } : {});
  let finalPath: string;
  let dumped;
  try {
    dumped = await dumpDatabase(ctx.db, file, {
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
      onProgress: (p) =>
        ctx.logger.progress({ step: `backing up ${p.table}`, done: p.rowsDone, total: p.rowsEstimate }),
      checksums: Boolean(resolved.verify),
      maxStatementBytes: resolved.maxStatementBytes,
    });
    throwIfAborted(ctx.signal);
    finalPath = await file.commit(name);
  } catch (err) {
    file.abort();
    throw err;
  }
  const bytes = fs.statSync(finalPath).size;
  const rowsByTable = Object.fromEntries(dumped.tables.map((t) => [t.name, t.rows]));
  const rows = dumped.tables.reduce((s, t) => s + t.rows, 0);
  ctx.logger.info(`wrote ${finalPath} (${formatBytes(bytes)}, ${rows} rows in ${dumped.tables.length} tables)`);
  const result: BackupResult = {
    ...base,
    file: finalPath,
    bytes,
    rows,
    rowsByTable,
    views: dumped.views,
    triggers: dumped.triggers,
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

  const cutoff = formatFileStamp(new Date(startedAt.getTime() - retentionDays * 86_400_000), ctx.timeZone);
  result.retention.deleted = applyRetention(dir, cutoff, finalPath);
  if (result.retention.deleted.length)
    ctx.logger.info(`retention: deleted ${result.retention.deleted.length} backup(s) older than ${retentionDays} days`);
  return result;
}
