import path from 'node:path';
import type { Config } from '../../config/config.js';
import type { Settings } from '../../config/settings.js';
import { UsageError } from '../../util/errors.js';
import { parseDay } from '../../util/time.js';
import { PERIODS, type Period } from './period.js';
import { REPORT_FORMATS, type ReportFormat } from './report-files.js';
import type { SectionId, SectionSettings } from './sections.js';
import { defineJob, runFrom } from '../definition.js';

export interface ExportReportOptions {
  period: Period;
  format: ReportFormat;
  /** False with `--no-email`: write the file only. */
  email: boolean;
  /** `--to`: these recipients instead of the admins. */
  to?: string[];
  /** `--end YYYY-MM-DD`: the period ends at the start of this day instead of today. */
  end?: string;
}

/** The run's options checked, with the report's config. */
export interface Resolved extends ExportReportOptions {
  sections: SectionSettings;
  retentionDays: number;
  /** `{report.dir}/user_activity`. */
  dir: string;
}

export interface SectionSummary {
  id: SectionId;
  title: string;
  available: boolean;
  rows: number;
  reason?: string;
  truncated?: boolean;
}

export interface ExportReportResult {
  period: Period;
  from: string;
  to: string;
  timeZone: string;
  format: ReportFormat;
  /** The report written (dry run: the one that would be). */
  file: string | null;
  bytes: number;
  sections: SectionSummary[];
  recipients: string[];
  mail: { sent: string[]; failed: { to: string; error: string; attempts: number }[]; skipped?: string };
  retention: { retentionDays: number; deleted: string[] };
}

const EMAIL = /^[^\s@,;<>"]+@[^\s@,;<>"]+$/;

/** `--to a@x,b@y`: each address checked (a bad one is exit 2), duplicates dropped. */
export function checkRecipients(list: readonly string[]): string[] {
  if (!list.length) throw new UsageError('--to needs at least one email address');
  for (const a of list) if (!EMAIL.test(a)) throw new UsageError(`--to: "${a}" is not an email address`);
  return [...new Set(list)];
}

function resolve(config: Config, _settings: Settings, options: ExportReportOptions): Resolved {
  return {
    ...options,
    ...(options.to !== undefined ? { to: checkRecipients(options.to) } : {}),
    ...(options.end !== undefined ? { end: parseDay(options.end, '--end') } : {}),
    sections: {
      suspiciousIpThreshold: config.value('report.suspiciousIpThreshold'),
      suspiciousIpLimit: config.value('report.suspiciousIpLimit'),
    },
    retentionDays: config.value('report.retentionDays'),
    dir: path.join(config.value('report.dir'), 'user_activity'),
  };
}

export const exportReportJob = defineJob<ExportReportOptions, Resolved, ExportReportResult>({
  name: 'export-report',
  description:
    'User activity report (summary, top users/movies/series/searches, activity by type, suspicious IPs) as CSV, mailed to the admins',
  schedule: { cron: '0 8 * * 1', args: ['--period', 'weekly'], purpose: 'mail the weekly user-activity report' },
  timeoutSeconds: 600,
  examples: [
    'webjobs export-report',
    'webjobs export-report --period monthly --end 2026-11-01 --to ops@example.com',
    'webjobs export-report --period daily --format json --no-email --json',
    'webjobs export-report --dry-run',
  ],
  options: [
    {
      flags: '--period <period>',
      description: 'daily (1 day), weekly (7 days) or monthly (30 days), ending at the start of today',
      type: { choice: PERIODS },
      default: 'weekly',
    },
    {
      flags: '--end <YYYY-MM-DD>',
      description: 'end the period at the start of this day instead of today',
      type: 'day',
    },
    {
      flags: '--format <format>',
      description: 'csv (with a BOM, for Excel) or json (for other tools)',
      type: { choice: REPORT_FORMATS },
      default: 'csv',
    },
    {
      flags: '--to <emails>',
      description: 'comma-separated recipients instead of the admins (mail.admins / WEBJOBS_ADMINS)',
      type: 'list',
      convert: (list: string[] | undefined) => (list === undefined ? undefined : [...new Set(list)]),
    },
    { flags: '--no-email', description: 'write the report file only' },
  ],
  resolve,
  run: runFrom(() => import('./run.js')),
});

export default exportReportJob;
