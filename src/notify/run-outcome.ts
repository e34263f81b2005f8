import type { AnyJob, RunInfo } from '../runner/job.js';
import type { RunSummary } from '../runner/runner.js';
import type { MailMessage } from './mailer.js';
import { jobFailureEmail } from './templates/failure.js';

/** The mail a finished run sends the admins: the job's own success or failure mail, a generic alert, or none. */
export function outcomeMail(def: AnyJob, summary: RunSummary, info: RunInfo): MailMessage | null {
  if (summary.status === 'succeeded') return def.successEmail?.(summary.result, info) ?? null;
  if (summary.status !== 'failed') return null;
  const error = summary.error ?? 'unknown error';
  return def.failureEmail ? def.failureEmail(error, info) : jobFailureEmail(error, summary.attempts, info);
}
