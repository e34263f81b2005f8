import fs from 'node:fs';
import path from 'node:path';
import type { JobContext } from '../../runner/job.js';
import { processAlive } from '../../runner/lock.js';
import { sendToAdmins } from '../../notify/admins.js';
import { AtomicFile } from '../../util/atomic-file.js';
import { throwIfAborted } from '../../util/errors.js';
import { formatBytes, formatDuration, formatLocalDateTime } from '../../util/time.js';
import { reportPeriod } from './period.js';
import { mailHtml, mailSubject, mailText } from '../../notify/templates/export-report.js';
import { renderCsv, renderJson, type ReportDocument } from './render.js';
import { applyReportRetention, removeOrphanedReportTemps, reportFileName } from './report-files.js';
import { computeSections } from './sections.js';
import type { ExportReportResult, Resolved } from './index.js';

export async function run(ctx: JobContext, options: Resolved): Promise<ExportReportResult> {
  const startedAt = ctx.clock.now();
  const period = reportPeriod(options.period, startedAt, ctx.timeZone, options.end);
  const settings = options.sections;
  const keepDays = options.retentionDays;
  const dir = options.dir;
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
    appName: ctx.config.value('app.name'),
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
