import type { JobContext } from '../../runner/job.js';
import { retryPolicy, withRetries } from '../../runner/retry.js';
import { CancelledError, errorMessage, TimeoutError } from '../../util/errors.js';
import type { StepOutcome } from './steps.js';

export interface StepReport extends StepOutcome {
  step: string;
  status: 'ok' | 'failed';
  error?: string;
  durationMs: number;
}

/**
 * Runs each cleanup step on its own: a busy database or a deadlock is retried by the runner's
 * policy (the step rolled back, and every step is safe to repeat); any other error fails only
 * that step, and the next one runs. Each step's report is appended to `reports`.
 */
export function stepRunner(ctx: JobContext, reports: StepReport[]) {
  const policy = retryPolicy(ctx.config);
  return async (name: string, fn: () => Promise<StepOutcome>): Promise<void> => {
    const t0 = performance.now();
    ctx.logger.step(`${name}${ctx.dryRun ? ' (dry run)' : ''}`);
    try {
      const { value: outcome } = await withRetries(policy, ctx, name, fn, ctx.signal);
      reports.push({ step: name, status: 'ok', ...outcome, durationMs: Math.round(performance.now() - t0) });
    } catch (err) {
      // Cancellation and the time budget stop the whole run; anything else fails only this step.
      if (err instanceof CancelledError || err instanceof TimeoutError || ctx.signal.aborted) throw err;
      const message = errorMessage(err);
      ctx.logger.error(`${name} failed: ${message}`);
      reports.push({
        step: name,
        status: 'failed',
        error: message,
        count: 0,
        sampleIds: [],
        notes: [],
        durationMs: Math.round(performance.now() - t0),
      });
    }
  };
}
