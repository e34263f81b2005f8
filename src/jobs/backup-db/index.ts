import type { Config } from '../../config/config.js';
import type { Settings } from '../../config/settings.js';
import { checkIdentifier } from '../../db/identifiers.js';
import { defineJob, runFrom } from '../definition.js';
import { backupFailureEmail, backupSuccessEmail } from '../../notify/templates/backup-db.js';
import { retentionRules } from '../../backup/folder-retention.js';
import type { RetentionRules } from '../../backup/retention.js';
import type { BackupType } from './backup-files.js';
import { encryptionFromConfig, identitiesForVerify, type BackupEncryption } from '../../backup/encryption-config.js';
import {
  checkRemoteAccess,
  remoteRetryPolicy,
  remotesFromConfig,
  type RemoteCopy,
  type RemoteRetention,
  type RemoteTarget,
} from '../../backup/remotes/index.js';

interface BackupOptions {
  type: BackupType;
  /** Target folder (`--out`), else config `backup.dir`, else ./var/backups. */
  out?: string;
  /** gzip level 1–9 (`--level`), else config `backup.level`, else 9. */
  level?: number;
  verify?: boolean;
  /** age identity file for `--verify` of an encrypted backup (`--identity`), else config backup.encrypt.identityFile. */
  identity?: string;
}

/** A backup's settings, checked and completed from options and config. */
export interface Resolved {
  type: BackupType;
  dir: string;
  level: number;
  verify: boolean;
  retentionDays: number;
  /** This type's GFS rules (config backup.retention.<type>, else retentionDays as keepWithinDays). */
  retentionRules: RetentionRules;
  criticalTables: string[];
  maxStatementBytes: number;
  /** config backup.encrypt: the recipients every byte written is encrypted to; null writes plain gzip. */
  encryption: BackupEncryption | null;
  /** The secret keys `--verify` of an encrypted backup decrypts with. */
  identities?: string[];
  /** config backup.remotes, checked as far as can be without connecting. */
  remotes: RemoteTarget[];
  /** Free space the folder must keep beyond the backup's estimate (config backup.freeSpaceMarginBytes). */
  freeSpaceMarginBytes: number;
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
  /** In the age format, to these recipients (public keys). */
  encryptedTo?: string[];
  verified?: { ok: boolean; tables: TableVerification[] };
  /** Off-site copies (config backup.remotes), each read back and compared by size and SHA-256. */
  remotes?: RemoteCopy[];
  /** This type's files only: each with keep or delete and why (a dry run: what the run would do). */
  retention: {
    retentionDays: number;
    rules: RetentionRules;
    deleted: string[];
    decisions: { name: string; keep: boolean; reasons: string[] }[];
    /** The same rules applied to each remote's copies of this type (after every copy succeeded). */
    remotes?: RemoteRetention[];
  };
  /** Dry run only: what would be backed up. */
  plan?: { table: string; estimatedRows: number; estimatedBytes: number | null }[];
}

/**
 * Encryption and remotes are checked here, before the run connects or reads anything: an
 * unusable recipient, a `--verify` of an encrypted backup without a key, an SFTP remote whose
 * key or host key is missing are exit 2, never a plaintext file or a backup that cannot leave.
 */
function resolve(config: Config, _settings: Settings, options: BackupOptions): Resolved {
  const dir = config.valueOr('backup.dir', options.out, '--out');
  const encryption = encryptionFromConfig(config);
  const identities = encryption && options.verify ? identitiesForVerify(config, options.identity) : undefined;
  const remotes = remotesFromConfig(config);
  checkRemoteAccess(remotes, config);
  remoteRetryPolicy(config);
  // Both types' rules are checked, so a typo in the other type's rules stops this run too (exit 2).
  const rules = { critical: retentionRules(config, 'critical'), full: retentionRules(config, 'full') };
  return {
    type: options.type,
    dir,
    level: config.valueOr('backup.level', options.level, '--level'),
    verify: Boolean(options.verify),
    retentionDays: config.value('backup.retentionDays'),
    retentionRules: rules[options.type],
    criticalTables: config.value('backup.critical').map((t) => checkIdentifier(t, 'config backup.critical table')),
    maxStatementBytes: config.value('backup.maxStatementBytes'),
    encryption,
    identities,
    remotes,
    freeSpaceMarginBytes: config.value('backup.freeSpaceMarginBytes'),
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
      description:
        'critical (config backup.critical) or full (every table, views, triggers; MariaDB: also routines, events, sequences)',
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
    {
      flags: '--identity <file>',
      description:
        'age identity (secret key) file to --verify an encrypted backup (default: config backup.encrypt.identityFile)',
      type: 'path',
    },
  ],
  resolve,
  run: runFrom(() => import('./run.js')),
  successEmail: backupSuccessEmail,
  failureEmail: backupFailureEmail,
});

export default backupDbJob;
