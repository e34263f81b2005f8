import type { Logger } from '../log/logger.js';
import { formatDuration } from '../util/time.js';
import type { DeliveryResult, MailMessage, Mailer } from './mailer.js';

interface AdminMailOutcome {
  sent: string[];
  failed: string[];
  /** Per recipient: tries, message id or error. Empty when mail was skipped. */
  results: DeliveryResult[];
  /** Why nothing was sent (mail not configured, no recipients), when so. */
  skipped?: string;
}

/**
 * Sends one message to each admin (or to `recipients`); transient SMTP errors are retried by
 * the mailer with backoff (each retry logged); a recipient that still fails is a warning,
 * never a job failure.
 */
export async function sendToAdmins(
  mailer: Mailer,
  message: MailMessage,
  logger: Logger,
  warn: (m: string) => void,
  recipients: readonly string[] = mailer.admins,
  signal?: AbortSignal,
): Promise<AdminMailOutcome> {
  if (!mailer.configured) {
    const skipped = 'mail not configured (SMTP_URL or config mail.url)';
    logger.info(`${skipped}: "${message.subject}" not sent`);
    return { sent: [], failed: [], results: [], skipped };
  }
  if (recipients.length === 0) {
    const skipped = 'no admins configured (mail.admins or WEBJOBS_ADMINS)';
    logger.info(`${skipped}: "${message.subject}" not sent`);
    return { sent: [], failed: [], results: [], skipped };
  }
  const report = await mailer.sendEach(recipients, message, {
    signal,
    onRetry: (r) =>
      logger.warn(`mail to ${r.to} failed (${r.error}); try ${r.attempt + 1} in ${formatDuration(r.delayMs)}`),
  });
  if (report.sent.length) logger.info(`mail "${message.subject}" sent to ${report.sent.join(', ')}`);
  for (const f of report.failed)
    warn(`mail to ${f.to} failed${f.attempts > 1 ? ` after ${f.attempts} tries` : ''}: ${f.error}`);
  return { sent: report.sent, failed: report.failed.map((f) => f.to), results: report.results };
}
