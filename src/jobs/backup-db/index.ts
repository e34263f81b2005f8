import { checkPath } from '../../util/paths.js';
import type { Config } from '../../config/config.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { checkIdentifier } from '../../db/identifiers.js';
import { estimateRows, tableSizeBytes } from '../../db/dialect.js';
import { backupCandidateTables, checksumTables, dumpDatabase, withScratchDatabase } from '../../db/dump/index.js';
import { headerLines } from '../../db/dump/format.js';
import { restoreBackup } from '../../db/dump/restore.js';
import type { JobContext, JobDefinition } from '../../runner/job.js';
import { AtomicGzipFile } from '../../util/atomic-gzip.js';
import { PartialFailure, throwIfAborted, UsageError } from '../../util/errors.js';
import { formatBytes, formatDuration, formatFileStamp, formatLocalDateTime } from '../../util/time.js';
import { applyRetention, backupFileName, removeOrphanedTempFiles, type BackupType } from './backup-files.js';
import { processAlive } from '../../runner/lock.js';
import { ageEncoder } from '../../backup/encrypt.js';
import {
  checkIdentityOpens,
  encryptionFromConfig,
  identitiesFrom,
  usableEncryption,
} from '../../backup/encryption-config.js';
import {
  checkRemoteAccess,
  copyToRemotes,
  remoteRetryPolicy,
  remoteSecretsFromEnv,
  remotesFromConfig,
  type RemoteCopy,
} from '../../backup/remotes/index.js';

const require = createRequire(import.meta.url);
const { version } = require('../../../package.json') as { version: string };

/** Seed 002's critical tables. */
export const DEFAULT_CRITICAL_TABLES = [
  'users',
  'movies',
  'series',
  'series_seasons',
  'series_episodes',
  'genres',
  'movie_genre',
  'series_genre',
  'movie_sources',
  'watchlists',
  'invite_codes',
  'roles',
  'permissions',
  'role_permission',
];

export interface BackupOptions {
  type: BackupType;
  /** Target folder (`--out`), else config `backup.dir`, else ./var/backups. */
  out?: string;
  /** gzip level 1–9 (`--level`), else config `backup.level`, else 9. */
  level?: number;
  verify?: boolean;
  /** age identity file for `--verify` of an encrypted backup (`--identity`), else config backup.encrypt.identityFile. */
  identity?: string;
}

export interface TableVerification {
  table: string;
  rows: number;
  restoredRows: number;
  checksum: string;
  match: boolean;
}

export interface BackupResult {
  type: BackupType;
  file: string | null;
  bytes: number;
  tables: string[];
  rows: number;
  rowsByTable: Record<string, number>;
  skippedTables: string[];
  views: string[];
  triggers: string[];
  level: number;
  /** In the age format, to these recipients (public keys). */
  encryptedTo?: string[];
  verified?: { ok: boolean; tables: TableVerification[] };
  /** Off-site copies (config backup.remotes), each read back and compared by size and SHA-256. */
  remotes?: RemoteCopy[];
  retention: { retentionDays: number; deleted: string[] };
  /** Dry run only: what would be backed up. */
  plan?: { table: string; estimatedRows: number; estimatedBytes: number | null }[];
}

function backupDir(ctx: JobContext, options: BackupOptions): string {
  return options.out ? path.resolve(process.cwd(), options.out) : ctx.config.path('backup.dir', './var/backups');
}

function criticalTables(config: Config): string[] {
  return config
    .stringList('backup.critical', DEFAULT_CRITICAL_TABLES)
    .map((t) => checkIdentifier(t, 'config backup.critical table'));
}

/** The tables this backup takes: listed ones that exist (missing ones warned about), or all of them. */
async function chooseTables(ctx: JobContext, type: BackupType): Promise<{ tables: string[]; skipped: string[] }> {
  if (type === 'full') {
    const tables = await backupCandidateTables(ctx.db);
    if (!tables.length) throw new Error(`database ${ctx.db.description} holds no tables to back up`);
    return { tables, skipped: [] };
  }
  const listed = criticalTables(ctx.config);
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

async function run(ctx: JobContext, options: BackupOptions): Promise<BackupResult> {
  const level = options.level ?? ctx.config.number('backup.level', 9, { min: 1, max: 9 });
  const retentionDays = ctx.config.number('backup.retentionDays', 7, { min: 0, max: 36500 });
  const dir = backupDir(ctx, options);
  // Checked before anything is read: a recipient that cannot be used is exit 2, never a plaintext file.
  const encryption = await usableEncryption(ctx.config);
  const identities = options.verify && encryption ? identitiesFrom(ctx.config, options.identity) : undefined;
  if (options.verify && encryption) await checkIdentityOpens(encryption, identities);
  const remotes = remotesFromConfig(ctx.config);
  if (remotes.length) for (const secret of remoteSecretsFromEnv()) ctx.logger.addSecret(secret);
  const startedAt = ctx.clock.now();
  const stamp = formatFileStamp(startedAt, ctx.timeZone);
  const name = backupFileName(options.type, stamp, encryption !== null);
  const { tables, skipped } = await chooseTables(ctx, options.type);
  const base: BackupResult = {
    type: options.type,
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
      includeViewsAndTriggers: options.type === 'full',
      headerLines: headerLines(
        {
          engine: ctx.db.dialect,
          type: options.type,
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
      checksums: Boolean(options.verify),
      maxStatementBytes: ctx.config.number('backup.maxStatementBytes', 1024 * 1024, {
        min: 1024,
        max: 256 * 1024 * 1024,
      }),
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

  if (options.verify) {
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

export const backupDbJob: JobDefinition<BackupOptions, BackupResult> = {
  name: 'backup-db',
  description: 'Back up the database (critical tables or everything) to a gzip SQL file',
  timeoutSeconds: 1800,
  checkConfig(config, options) {
    criticalTables(config);
    checkPath(config.string('backup.dir', './var/backups'), 'config backup.dir');
    config.number('backup.level', 9, { min: 1, max: 9 });
    config.number('backup.retentionDays', 7, { min: 0, max: 36500 });
    if (encryptionFromConfig(config) && options.verify) identitiesFrom(config, options.identity);
    checkRemoteAccess(remotesFromConfig(config), config);
    remoteRetryPolicy(config);
  },
  run,
  successEmail(r, info) {
    return {
      subject: `[${info.appName}] Database Backup Completed`,
      text: [
        'Database Backup Completed',
        '',
        `Backup Type: ${r.type}`,
        `Tables Backed Up: ${r.tables.length}`,
        `File: ${r.file ? r.file.split('/').pop() : ''}`,
        `Size: ${formatBytes(r.bytes)}`,
        `Duration: ${formatDuration(info.durationMs)}`,
        `Timestamp: ${formatLocalDateTime(new Date(info.startedAt.getTime() + info.durationMs), info.timeZone)}`,
        `Host: ${os.hostname()}`,
        ...(r.verified ? [`Verified: ${r.verified.ok ? 'yes, every table restores identically' : 'NO'}`] : []),
        ...(r.skippedTables.length ? [`Skipped (missing): ${r.skippedTables.join(', ')}`] : []),
        ...(r.encryptedTo ? [`Encrypted: age, to ${r.encryptedTo.length} recipient(s)`] : []),
        ...(r.remotes?.length
          ? [`Off-site copies (SHA-256 checked): ${r.remotes.map((c) => c.remote).join(', ')}`]
          : []),
        '',
        'Tables:',
        r.tables.join(', '),
        '',
        'The backup file is stored securely on the server.',
      ].join('\n'),
    };
  },
  failureEmail(error, info) {
    return {
      subject: '[ALERT] Database Backup Failed',
      text: [
        'Database Backup FAILED',
        '',
        `Backup Type: ${String(info.options.type ?? '')}`,
        `Timestamp: ${formatLocalDateTime(info.startedAt, info.timeZone)}`,
        `Host: ${os.hostname()}`,
        '',
        `Error: ${error}`,
        '',
        'Please check the logs for more details.',
      ].join('\n'),
    };
  },
};

export function parseBackupType(value: string): BackupType {
  if (value !== 'critical' && value !== 'full') throw new UsageError(`--type must be critical or full, got "${value}"`);
  return value;
}
