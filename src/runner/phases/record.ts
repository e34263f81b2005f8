import { errorMessage } from '../../util/errors.js';
import type { RunHistory } from '../history.js';
import { argumentsJson, type RunState } from '../run-state.js';

/**
 * Phase 3: the admitted run's history row, the monitors' start ping, and the lock's renewal
 * (a lost lock stops the run). Nothing to do for a dry run.
 */
export async function record(run: RunState, history: RunHistory | null): Promise<void> {
  const lock = run.lock;
  if (!history || !lock) return;
  // The history row starts when the lock is held, so no two rows of one job ever overlap.
  await history.start({
    runId: run.runId,
    job: run.def.name,
    arguments: argumentsJson(run),
    startedAt: run.env.clock.now(),
  });
  run.history = history;
  // Monitors hear of a run only once it holds the lock: a run skipped here (another server has it) pings nothing.
  for (const o of run.env.observers ?? []) {
    await o
      .onStart?.({ job: run.def.name, runId: run.runId, startedAt: run.startedAt })
      .catch((err) => run.warn(`monitor start ping failed: ${errorMessage(err)}`));
  }
  lock.startRenewing(
    (err) => run.abort(err),
    (err) => run.logger.warn(`could not renew the ${run.def.name} lock: ${errorMessage(err)}`),
  );
}
