import { checkPath } from '../../util/paths.js';
import type { Config } from '../../config/config.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { checkIdentifier } from '../../db/identifiers.js';
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
import type { JobContext, JobDefinition } from '../../runner/job.js';
import type { Db } from '../../db/types.js';
import { AtomicGzipFile } from '../../util/atomic-gzip.js';
import { PartialFailure, throwIfAborted, UsageError } from '../../util/errors.js';
import { formatBytes, formatDuration, formatFileStamp, formatLocalDateTime } from '../../util/time.js';
import { BACKUP_TYPES, backupFileName, listBackups, removeOrphanedTempFiles, type BackupType } from './backup-files.js';
import { estimateBackupBytes, spaceShortfall } from '../../backup/preflight.js';
import { folderRetention, retentionRules } from '../../backup/folder-retention.js';
import { buildManifest, writeManifest } from '../../backup/manifest.js';
import type { RetentionRules } from '../../backup/retention.js';
import { processAlive } from '../../runner/lock.js';

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
  /** MariaDB/MySQL full backups: `function f`, `procedure p`; events; sequences. */
  routines: string[];
  events: string[];
  sequences: string[];
  level: number;
  verified?: { ok: boolean; tables: TableVerification[] };
  /** This type's files only: each with keep or delete and why (a dry run: what the run would do). */
  retention: {
    retentionDays: number;
    rules: RetentionRules;
    deleted: string[];
    decisions: { name: string; keep: boolean; reasons: string[] }[];
  };
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

async function run(ctx: JobContext, options: BackupOptions): Promise<BackupResult> {
  const level = options.level ?? ctx.config.number('backup.level', 9, { min: 1, max: 9 });
  const retentionDays = ctx.config.number('backup.retentionDays', 7, { min: 0, max: 36500 });
  const dir = backupDir(ctx, options);
  const startedAt = ctx.clock.now();
  const stamp = formatFileStamp(startedAt, ctx.timeZone);
  const name = backupFileName(options.type, stamp);
  let { tables, skipped } = await chooseTables(ctx, options.type);
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
    routines: [],
    events: [],
    sequences: [],
    level,
    retention: { retentionDays, rules: retentionRules(ctx.config, options.type), deleted: [], decisions: [] },
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
    ctx.logger.info(`would write ${dir}/${name} (gzip level ${level})`);
    const pending = { name, type: options.type, time: formatLocalDateTime(startedAt, ctx.timeZone) };
    base.retention = applyRetention(ctx, dir, options.type, base.retention, pending);
    return { ...base, file: `${dir}/${name}`, plan, rows: plan.reduce((s, p) => s + p.estimatedRows, 0) };
  }

  await checkFreeSpace(ctx, dir, options.type, tables);
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
  for (let attempt = 1; ; attempt++) {
    const file = new AtomicGzipFile(dir, name, level);
    try {
      dumped = await dumpDatabase(ctx.db, file, dumpRequest(ctx, options, tables, startedAt));
      throwIfAborted(ctx.signal);
      finalPath = await file.commit(name);
      writeManifest(
        finalPath,
        buildManifest({
          backupPath: finalPath,
          type: options.type,
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
      ({ tables, skipped } = await chooseTables(ctx, options.type));
    }
  }
  for (const w of dumped.warnings) ctx.warn(w);
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
    tables,
    skippedTables: skipped,
    views: dumped.views,
    triggers: dumped.triggers,
    routines: dumped.routines,
    events: dumped.events,
    sequences: dumped.sequences,
  };

  if (options.verify) {
    ctx.logger.step('verifying: restoring into a scratch database and comparing checksums');
    const expected = new Map(dumped.tables.map((t) => [t.name, t]));
    const restored = await withScratchDatabase(ctx.db, async (scratch) => {
      await restoreBackup(scratch, finalPath, { signal: ctx.signal });
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

  result.retention = applyRetention(ctx, dir, options.type, result.retention);
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

/** Refuses the run (exit 1, nothing written) when the folder cannot hold the backup plus the margin. */
async function checkFreeSpace(ctx: JobContext, dir: string, type: BackupType, tables: string[]): Promise<void> {
  const margin = ctx.config.number('backup.freeSpaceMarginBytes', 64 * 1024 * 1024, { min: 0, integer: true });
  const previous = listBackups(dir).find((b) => b.type === type);
  const dataBytes = previous ? null : await dataLength(ctx.db, tables);
  const shortfall = spaceShortfall(dir, estimateBackupBytes(previous?.bytes ?? null, dataBytes), margin);
  if (shortfall) throw new Error(shortfall);
}

/**
 * The tables' data length, for a first backup's estimate. SQLite: the file's pages in use, an
 * upper bound read from the header (dbstat would read every page of the tables: 16 MB more
 * memory and a second pass over a 1M-row table before the dump starts).
 */
async function dataLength(db: Db, tables: string[]): Promise<number | null> {
  if (db.dialect === 'sqlite') {
    const pages = await db.queryOne<{ n: number }>(
      'SELECT (SELECT page_count FROM pragma_page_count()) - (SELECT freelist_count FROM pragma_freelist_count()) AS n',
    );
    const size = await db.queryOne<{ n: number }>('SELECT page_size AS n FROM pragma_page_size()');
    return pages && size ? Number(pages.n) * Number(size.n) : null;
  }
  let total: number | null = null;
  for (const t of tables) {
    const n = await tableSizeBytes(db, t);
    if (n !== null) total = (total ?? 0) + Number(n);
  }
  return total;
}

function dumpRequest(ctx: JobContext, options: BackupOptions, tables: string[], startedAt: Date): DumpRequest {
  return {
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
    onProgress: (p) => ctx.logger.progress({ step: `backing up ${p.table}`, done: p.rowsDone, total: p.rowsEstimate }),
    checksums: Boolean(options.verify),
    maxStatementBytes: ctx.config.number('backup.maxStatementBytes', 1024 * 1024, {
      min: 1024,
      max: 256 * 1024 * 1024,
    }),
  };
}

export const backupDbJob: JobDefinition<BackupOptions, BackupResult> = {
  name: 'backup-db',
  description: 'Back up the database (critical tables or everything) to a gzip SQL file',
  timeoutSeconds: 1800,
  checkConfig(config) {
    criticalTables(config);
    checkPath(config.string('backup.dir', './var/backups'), 'config backup.dir');
    config.number('backup.level', 9, { min: 1, max: 9 });
    config.number('backup.retentionDays', 7, { min: 0, max: 36500 });
    for (const type of BACKUP_TYPES) retentionRules(config, type);
    config.number('backup.freeSpaceMarginBytes', 64 * 1024 * 1024, { min: 0, integer: true });
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
