import os from 'node:os';
import type { BackupResult } from '../../jobs/backup-db/index.js';
import type { RunInfo } from '../../runner/job.js';
import { formatBytes, formatLocalDateTime } from '../../util/time.js';
import type { MailMessage } from '../mailer.js';

/** The seed's sign-off under both backup mails. */
const signOff = (info: RunInfo) => ['', 'Best regards,', `${info.appName} System`];

/** Seconds with two decimals, as the seed writes a backup's duration ("45.67 seconds"). */
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} seconds`;

/** After a backup: what was written, where, and whether it restores. */
export function backupSuccessEmail(r: BackupResult, info: RunInfo): MailMessage {
  return {
    subject: `[${info.appName}] Database Backup Completed`,
    text: [
      'Database Backup Completed',
      '',
      `Backup Type: ${r.type}`,
      `Tables Backed Up: ${r.tables.length}`,
      `File: ${r.file ? r.file.split('/').pop() : ''}`,
      `Size: ${formatBytes(r.bytes)}`,
      `Duration: ${seconds(info.durationMs)}`,
      `Timestamp: ${formatLocalDateTime(new Date(info.startedAt.getTime() + info.durationMs), info.timeZone)}`,
      `Host: ${os.hostname()}`,
      ...(r.verified ? [`Verified: ${r.verified.ok ? 'yes, every table restores identically' : 'NO'}`] : []),
      ...(r.skippedTables.length ? [`Skipped (missing): ${r.skippedTables.join(', ')}`] : []),
      ...(r.encryptedTo ? [`Encrypted: age, to ${r.encryptedTo.length} recipient(s)`] : []),
      ...(r.remotes?.length ? [`Off-site copies (SHA-256 checked): ${r.remotes.map((c) => c.remote).join(', ')}`] : []),
      '',
      'Tables:',
      r.tables.join(', '),
      '',
      'The backup file is stored securely on the server.',
      ...signOff(info),
    ].join('\n'),
  };
}

/** After a failed backup (the seed's alert). */
export function backupFailureEmail(error: string, info: RunInfo): MailMessage {
  return {
    subject: '[ALERT] Database Backup Failed',
    text: [
      '\u26a0\ufe0f Database Backup FAILED',
      '',
      `Backup Type: ${String(info.options.type ?? '')}`,
      `Timestamp: ${formatLocalDateTime(info.startedAt, info.timeZone)}`,
      `Host: ${os.hostname()}`,
      '',
      `Error: ${error}`,
      '',
      'Please check the logs for more details.',
      ...signOff(info),
    ].join('\n'),
  };
}
