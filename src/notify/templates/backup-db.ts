import os from 'node:os';
import type { BackupResult } from '../../jobs/backup-db/index.js';
import type { RunInfo } from '../../runner/job.js';
import { formatBytes, formatDuration, formatLocalDateTime } from '../../util/time.js';
import type { MailMessage } from '../mailer.js';

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
      `Duration: ${formatDuration(info.durationMs)}`,
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
    ].join('\n'),
  };
}

/** After a failed backup (the seed's alert). */
export function backupFailureEmail(error: string, info: RunInfo): MailMessage {
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
}
