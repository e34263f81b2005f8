import {
  CancelledError,
  errorMessage,
  JobSkipped,
  PartialFailure,
  TimeoutError,
  UsageError,
} from '../../util/errors.js';
import { formatDuration } from '../../util/time.js';
import type { RunState } from '../run-state.js';
import { isTransientError } from '../transient.js';

/** The job returned: the summary says so (exit 0). */
export function succeeded(run: RunState, value: unknown): void {
  const { summary, logger } = run;
  summary.result = value;
  summary.status = run.request.dryRun ? 'dry-run' : 'succeeded';
  summary.exitCode = 0;
  logger.finish();
  logger.info(`${run.def.name} ${summary.status} in ${formatDuration(run.elapsedMs())}`);
}

/** A phase or the job threw: a skip (exit 0), bad configuration (exit 2) or a failure (exit 1). */
export function stopped(run: RunState, err: unknown): void {
  const { summary, logger } = run;
  logger.finish();
  summary.attempts = Math.max(summary.attempts, (err as { attempts?: number }).attempts ?? summary.attempts);
  if (err instanceof JobSkipped) {
    summary.status = 'skipped';
    summary.reason = err.message;
    summary.result = { skipped: true, reason: err.message, ...err.result };
    summary.exitCode = 0;
    logger.info(`skipped: ${err.message}`);
    return;
  }
  summary.status = 'failed';
  summary.error = describeError(run, err);
  summary.exitCode = err instanceof UsageError ? 2 : 1;
  if (err instanceof PartialFailure) summary.result = err.result;
  logger.error(`${run.def.name} failed: ${summary.error}`);
}

function describeError(run: RunState, err: unknown): string {
  const message = errorMessage(err);
  if (
    err instanceof UsageError ||
    err instanceof PartialFailure ||
    err instanceof CancelledError ||
    err instanceof TimeoutError ||
    err instanceof JobSkipped
  )
    return message;
  const code = (err as { code?: string }).code;
  if (isTransientError(err) || code === 'ER_ACCESS_DENIED_ERROR' || code === 'ER_BAD_DB_ERROR') {
    // Name the database (password masked) so the morning-after reader knows where to look.
    const where = run.db?.description ?? run.logger.mask(run.env.databaseUrl);
    return `database ${where}: ${message}${code && !message.includes(code) ? ` (${code})` : ''}`;
  }
  return message;
}
