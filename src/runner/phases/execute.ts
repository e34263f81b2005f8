import type { Settings } from '../../config/settings.js';
import type { TableMap } from '../../config/tables.js';
import type { Db } from '../../db/types.js';
import type { JobContext } from '../job.js';
import { withRetries } from '../retry.js';
import type { RunState } from '../run-state.js';

/** Everything the job may touch during this run. */
export function jobContext(run: RunState, db: Db, tables: TableMap, settings: Settings): JobContext {
  const { env } = run;
  return {
    job: run.def.name,
    runId: run.runId,
    db,
    config: env.config,
    tables,
    settings,
    clock: env.clock,
    sleep: env.sleep,
    logger: run.logger,
    mailer: env.mailer,
    dryRun: run.request.dryRun,
    signal: run.signal,
    timeZone: run.timeZone,
    warn: (message) => run.warn(message),
  };
}

/**
 * Phase 4: the job itself, tried again on a transient error (each try counted in the history
 * row), within the run's time budget and cancellation.
 */
export async function execute<R>(run: RunState, work: () => Promise<R>): Promise<R> {
  const { value, attempts } = await withRetries(
    run.policy,
    run.env,
    run.def.name,
    async (n) => {
      run.summary.attempts = n;
      if (n > 1 && run.history) await run.history.setAttempts(run.runId, n).catch(() => undefined);
      return runWithSignal(work(), run.signal);
    },
    run.signal,
  );
  run.summary.attempts = attempts;
  return value;
}

/** Settles with the job, or rejects as soon as the signal fires — after a short grace for the job's own cleanup. */
async function runWithSignal<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) throw signal.reason;
  let onAbort: () => void = () => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      // Give the job up to 3 s to roll back and remove its temporary files, then give up on it.
      const grace = setTimeout(() => reject(signal.reason), 3000);
      grace.unref();
      work.then(
        () => {
          clearTimeout(grace);
          reject(signal.reason);
        },
        () => {
          clearTimeout(grace);
          reject(signal.reason);
        },
      );
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
