import { sendToAdmins } from '../../notify/admins.js';
import { outcomeMail } from '../../notify/run-outcome.js';
import { CancelledError, errorMessage } from '../../util/errors.js';
import type { RunStatus } from '../history.js';
import { finalizeSummary, runInfo, type RunState } from '../run-state.js';
import type { RunSummary } from '../runner.js';

/**
 * Phase 5, whatever happened before: complete the history row, release the lock, mail the
 * admins, report to the monitors, close the database. A failure here is a warning in the
 * summary, never a different outcome.
 */
export async function finish(run: RunState): Promise<RunSummary> {
  finalizeSummary(run);
  await recordOutcome(run);
  const job = run.def.name;
  if (run.lock)
    await run.lock.release().catch((err) => run.warn(`could not release the ${job} lock: ${errorMessage(err)}`));
  if (!run.request.dryRun && run.summary.status !== 'skipped') await notifyAdmins(run);
  if (!run.request.dryRun) await reportToMonitors(run);
  if (run.db && !run.env.db) await run.db.close().catch(() => undefined);
  return finalizeSummary(run);
}

async function recordOutcome(run: RunState): Promise<void> {
  const { history, summary, signal } = run;
  if (!history) return;
  const status: RunStatus =
    summary.status === 'failed' && signal.aborted && signal.reason instanceof CancelledError
      ? 'cancelled'
      : (summary.status as RunStatus);
  await history
    .finish(run.runId, {
      status,
      attempts: summary.attempts,
      finishedAt: run.env.clock.now(),
      durationMs: summary.durationMs,
      result: summary.result,
      error: summary.error ?? summary.reason,
    })
    .catch((err) => run.warn(`could not record the run's outcome: ${errorMessage(err)}`));
}

async function notifyAdmins(run: RunState): Promise<void> {
  const message = outcomeMail(run.def, run.summary, runInfo(run));
  if (message) await sendToAdmins(run.env.mailer, message, run.logger, (m) => run.warn(m));
}

async function reportToMonitors(run: RunState): Promise<void> {
  for (const o of run.env.observers ?? []) {
    await o
      .onFinish?.(run.summary, run.logger.tail())
      .catch((err) => run.warn(`monitor finish report failed: ${errorMessage(err)}`));
  }
}
