import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../../config/config.js';
import type { JobContext, JobDefinition } from '../../runner/job.js';
import { processAlive } from '../../runner/lock.js';
import { sendToAdmins } from '../../runner/runner.js';
import { AtomicFile } from '../../util/atomic-file.js';
import { throwIfAborted, UsageError } from '../../util/errors.js';
import { formatBytes, formatDuration, formatLocalDateTime, parseDay } from '../../util/time.js';
import { reportPeriod, type Period } from './period.js';
import { mailHtml, mailSubject, mailText, renderCsv, renderJson, type ReportDocument } from './render.js';
import { applyReportRetention, removeOrphanedReportTemps, reportFileName, type ReportFormat } from './report-files.js';
import { computeSections, type SectionId, type SectionSettings } from './sections.js';
import { activityByDay } from './activity-by-day.js';

export { parsePeriod, PERIODS } from './period.js';
export { REPORT_FORMATS } from './report-files.js';

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

/** `--to a@x,b@y` → the list, each checked (a bad one is exit 2). */
export function parseRecipients(value: string): string[] {
  const list = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!list.length) throw new UsageError('--to needs at least one email address');
  for (const a of list) if (!EMAIL.test(a)) throw new UsageError(`--to: "${a}" is not an email address`);
  return [...new Set(list)];
}

function sectionSettings(config: Config): SectionSettings {
  return {
    suspiciousIpThreshold: config.number('report.suspiciousIpThreshold', 5, { min: 1, max: 1_000_000 }),
    suspiciousIpLimit: config.number('report.suspiciousIpLimit', 1000, { min: 1, max: 100_000 }),
  };
}

function retentionDays(config: Config): number {
  return config.number('report.retentionDays', 30, { min: 0, max: 36500 });
}

/** `{report.dir}/user_activity`, report.dir defaulting to ./var/reports. */
export function reportDir(config: Config): string {
  return path.join(config.path('report.dir', './var/reports'), 'user_activity');
}

async function run(ctx: JobContext, options: ExportReportOptions): Promise<ExportReportResult> {
  const startedAt = ctx.clock.now();
  const period = reportPeriod(options.period, startedAt, ctx.timeZone, options.end);
  const settings = sectionSettings(ctx.config);
  const keepDays = retentionDays(ctx.config);
  const dir = reportDir(ctx.config);
  const name = reportFileName(period, options.format);
  const recipients = options.to ?? ctx.mailer.admins;
  ctx.logger.info(
    `${options.period} report: ${period.from} 00:00:00 to ${period.to} 00:00:00 (${ctx.timeZone}, end excluded)`,
  );

  const sections = await computeSections(
    ctx.db,
    ctx.tables,
    period,
    settings,
    (s, ms) => {
      if (!s.available) ctx.warn(`section "${s.title}" unavailable: ${s.reason}`);
      else ctx.logger.debug(`section "${s.title}": ${s.rows.length} row(s) in ${formatDuration(ms)}`);
    },
    ctx.signal,
  );
  const doc: ReportDocument = {
    period,
    generatedAt: formatLocalDateTime(startedAt, ctx.timeZone),
    timeZone: ctx.timeZone,
    appName: ctx.config.string('app.name', 'webjobs'),
    sections,
  };
  const result: ExportReportResult = {
    period: options.period,
    from: period.from,
    to: period.to,
    timeZone: ctx.timeZone,
    format: options.format,
    file: path.join(dir, name),
    bytes: 0,
    sections: sections.map((s) => ({
      id: s.id,
      title: s.title,
      available: s.available,
      rows: s.rows.length,
      ...(s.reason ? { reason: s.reason } : {}),
      ...(s.truncated ? { truncated: true } : {}),
    })),
    recipients: options.email ? [...recipients] : [],
    mail: { sent: [], failed: [] },
    retention: { retentionDays: keepDays, deleted: [] },
  };

  if (ctx.dryRun) {
    for (const s of result.sections)
      ctx.logger.info(
        `would report ${s.title}: ${s.available ? `${s.rows} row(s)${s.truncated ? ' (cut at the limit)' : ''}` : `unavailable (${s.reason})`}`,
      );
    ctx.logger.info(`would write ${result.file}`);
    if (!options.email) result.mail.skipped = '--no-email';
    else if (!ctx.mailer.configured) result.mail.skipped = 'mail not configured (SMTP_URL or config mail.url)';
    else if (!recipients.length) result.mail.skipped = 'no admins configured (mail.admins or WEBJOBS_ADMINS)';
    ctx.logger.info(
      result.mail.skipped ? `would send no mail: ${result.mail.skipped}` : `would mail ${recipients.join(', ')}`,
    );
    return result;
  }

  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new Error(`cannot create report folder ${dir}: ${(err as Error).message}`, { cause: err });
  }
  for (const orphan of removeOrphanedReportTemps(dir, processAlive))
    ctx.logger.warn(`removed ${orphan}, left by a report whose process died mid-write`);
  throwIfAborted(ctx.signal);
  const file = new AtomicFile(dir, name);
  let finalPath: string;
  try {
    file.write(options.format === 'csv' ? renderCsv(doc) : renderJson(doc));
    throwIfAborted(ctx.signal);
    finalPath = file.commit();
  } catch (err) {
    file.abort();
    throw err;
  }
  result.file = finalPath;
  result.bytes = fs.statSync(finalPath).size;
  ctx.logger.info(`wrote ${finalPath} (${formatBytes(result.bytes)})`);

  result.retention.deleted = applyReportRetention(dir, keepDays, ctx.clock.now().getTime(), finalPath);
  if (result.retention.deleted.length)
    ctx.logger.info(`retention: deleted ${result.retention.deleted.length} report(s) older than ${keepDays} days`);

  if (!options.email) {
    result.mail.skipped = '--no-email';
    ctx.logger.info('--no-email: report not mailed');
    return result;
  }
  doc.activityByDay = await activityByDay(ctx.db, ctx.tables, period);
  const outcome = await sendToAdmins(
    ctx.mailer,
    {
      subject: mailSubject(doc),
      text: mailText(doc),
      html: mailHtml(doc),
      attachments: [
        {
          filename: name,
          path: finalPath,
          contentType: options.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8',
        },
      ],
    },
    ctx.logger,
    (m) => ctx.warn(m),
    recipients,
    ctx.signal,
  );
  result.mail = {
    sent: outcome.sent,
    failed: outcome.results
      .filter((r) => !r.ok)
      .map((r) => ({ to: r.to, error: r.error ?? 'unknown error', attempts: r.attempts })),
    ...(outcome.skipped ? { skipped: outcome.skipped } : {}),
  };
  return result;
}

export const exportReportJob: JobDefinition<ExportReportOptions, ExportReportResult> = {
  name: 'export-report',
  description: 'User activity report (seven sections) as CSV or JSON, mailed to the admins',
  timeoutSeconds: 600,
  checkConfig(config, options) {
    sectionSettings(config);
    retentionDays(config);
    reportDir(config);
    if (options.end !== undefined) parseDay(options.end, '--end');
  },
  run,
};
