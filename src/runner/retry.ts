import type { Config } from '../config/config.js';
import type { Logger } from '../log/logger.js';
import type { Sleep } from '../util/clock.js';
import { errorMessage } from '../util/errors.js';
import { formatDuration } from '../util/time.js';
import { isTransientError } from './transient.js';

/** config `retry.tries` and `retry.backoffSeconds`: how often, and after how long, a transient failure is tried again. */
export interface RetryPolicy {
  tries: number;
  backoffMs: number[];
}

export function retryPolicy(config: Config): RetryPolicy {
  const backoff = config.value('retry.backoffSeconds');
  return { tries: config.value('retry.tries'), backoffMs: backoff.map((s) => s * 1000) };
}

/** The wait before retry number `retry` (0-based); the last backoff repeats. */
const backoffFor = (p: RetryPolicy, retry: number) => p.backoffMs[Math.min(retry, p.backoffMs.length - 1)] ?? 0;

/**
 * Runs `fn` again after the policy's backoff while it fails with a transient error (one warning
 * per retry). The error that ends it carries `attempts`, so the runner can report how many tries it took.
 */
export async function withRetries<T>(
  policy: RetryPolicy,
  io: { logger: Logger; sleep: Sleep },
  what: string,
  fn: (attempt: number) => Promise<T>,
  signal?: AbortSignal,
): Promise<{ value: T; attempts: number }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return { value: await fn(attempt), attempts: attempt };
    } catch (err) {
      if (attempt >= policy.tries || !isTransientError(err) || signal?.aborted) {
        (err as { attempts?: number }).attempts = attempt;
        throw err;
      }
      const wait = backoffFor(policy, attempt - 1);
      io.logger.warn(
        `${what} failed (${errorMessage(err)}); try ${attempt + 1} of ${policy.tries} in ${formatDuration(wait)}`,
      );
      await io.sleep(wait, signal);
    }
  }
}
