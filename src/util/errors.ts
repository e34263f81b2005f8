/** Bad usage or bad configuration: reported as one line, exit code 2, nothing executed. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The job chose not to run (disabled by a setting, paused, lock held): exit 0, status "skipped". */
export class JobSkipped extends Error {
  override name = 'JobSkipped';
  constructor(
    message: string,
    readonly result: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/**
 * The job did its work but part of it failed (one website of many, one step of several):
 * the result still goes into the summary, and the run exits 1.
 */
export class PartialFailure extends Error {
  override name = 'PartialFailure';
  constructor(
    message: string,
    readonly result: unknown,
  ) {
    super(message);
  }
}

/** Raised through the job's AbortSignal when SIGTERM/SIGINT arrives. */
export class CancelledError extends Error {
  override name = 'CancelledError';
}

/** Raised through the job's AbortSignal when the job's time budget is spent. */
export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

/** Throws the signal's reason (a CancelledError or TimeoutError) when it has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw signal.reason instanceof Error ? signal.reason : new CancelledError('cancelled');
  }
}
