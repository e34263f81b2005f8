import os from 'node:os';
import type { RunInfo } from '../../runner/job.js';
import { formatLocalDateTime } from '../../util/time.js';
import type { MailMessage } from '../mailer.js';

/** The alert for a failed run of a job that has no failure mail of its own. */
export function jobFailureEmail(error: string, attempts: number, info: RunInfo): MailMessage {
  return {
    subject: `[ALERT] webjobs ${info.job} failed on ${os.hostname()}`,
    text: [
      `webjobs ${info.job} FAILED`,
      '',
      `Host: ${os.hostname()}`,
      `Timestamp: ${formatLocalDateTime(info.startedAt, info.timeZone)}`,
      `Attempts: ${attempts}`,
      '',
      `Error: ${error}`,
      '',
      'Please check the logs for more details.',
    ].join('\n'),
  };
}
