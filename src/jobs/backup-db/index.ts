import { checkPath } from '../../util/paths.js';
import type { Config } from '../../config/config.js';
import type { Settings } from '../../config/settings.js';
import path from 'node:path';
import { checkIdentifier } from '../../db/identifiers.js';
import { defineJob, runFrom } from '../definition.js';
import { backupFailureEmail, backupSuccessEmail } from '../../notify/templates/backup-db.js';
import { intInRange } from '../option-ranges.js';
import type { BackupType } from './backup-files.js';

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

/** A backup's settings, checked and completed from options and config. */
export interface Resolved {
  type: BackupType;
  dir: string;
  level: number;
  verify: boolean;
  retentionDays: number;
  criticalTables: string[];
  maxStatementBytes: number;
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
  verified?: { ok: boolean; tables: TableVerification[] };
  retention: { retentionDays: number; deleted: string[] };
  /** Dry run only: what would be backed up. */
  plan?: { table: string; estimatedRows: number; estimatedBytes: number | null }[];
}

function resolve(config: Config, _settings: Settings, options: BackupOptions): Resolved {
  checkPath(config.string('backup.dir', './var/backups'), 'config backup.dir');
  const dir = options.out ? path.resolve(process.cwd(), options.out) : config.path('backup.dir', './var/backups');
  return {
    type: options.type,
    dir,
    level: intInRange(options.level, '--level', 1, 9) ?? config.number('backup.level', 9, { min: 1, max: 9 }),
    verify: Boolean(options.verify),
    retentionDays: config.number('backup.retentionDays', 7, { min: 0, max: 36500 }),
    criticalTables: config
      .stringList('backup.critical', DEFAULT_CRITICAL_TABLES)
      .map((t) => checkIdentifier(t, 'config backup.critical table')),
    maxStatementBytes: config.number('backup.maxStatementBytes', 1024 * 1024, { min: 1024, max: 256 * 1024 * 1024 }),
  };
}

/** The tables this backup takes: listed ones that exist (missing ones warned about), or all of them. */
export const backupDbJob = defineJob<BackupOptions, Resolved, BackupResult>({
  name: 'backup-db',
  description: 'Back up the database to backup_{type}_{time}.sql.gz (critical tables or everything)',
  schedule: { cron: '0 3 * * *', args: ['--type', 'critical'], purpose: 'back up the critical tables' },
  timeoutSeconds: 1800,
  examples: [
    'webjobs backup-db --type critical',
    'webjobs backup-db --type full --verify --out /srv/backups',
    'webjobs backup-db --dry-run --json',
  ],
  options: [
    {
      flags: '--type <type>',
      description: 'critical (config backup.critical) or full (every table, views, triggers)',
      type: { choice: ['critical', 'full'] },
      default: 'critical',
    },
    {
      flags: '--out <dir>',
      description: 'folder for the backup (default: config backup.dir or ./var/backups)',
      type: 'path',
    },
    { flags: '--level <n>', description: 'gzip level 1-9 (default: config backup.level or 9)', type: 'int' },
    {
      flags: '--verify',
      description: 'restore into a scratch database and compare every table (fails the run on a mismatch)',
    },
  ],
  resolve,
  run: runFrom(() => import('./run.js')),
  successEmail: backupSuccessEmail,
  failureEmail: backupFailureEmail,
});

export default backupDbJob;
