import type { Settings } from '../../config/settings.js';
import type { Db } from '../../db/types.js';
import { JobSkipped } from '../../util/errors.js';
import { formatLocalDateTime } from '../../util/time.js';
import { RunHistory } from '../history.js';
import { JobLock, type LockHolder } from '../lock.js';
import { pausedReason } from '../pause.js';
import { withRetries } from '../retry.js';
import { argumentsJson, type RunState } from '../run-state.js';
import { migrate } from '../../db/migrate.js';

/**
 * Phase 2: may this run go ahead? Not while the job is paused (unless `--force`), nor while
 * another run holds its lock; either skip is recorded in the history and ends the run (exit 0).
 * A dry run writes nothing, so it takes no lock. Returns the history to record the run in
 * (null for a dry run); `run.lock` holds the lock.
 */
export async function admit(run: RunState, db: Db, settings: Settings): Promise<RunHistory | null> {
  const paused = run.request.force ? null : pausedReason(settings, run.def.name);
  if (paused && run.request.dryRun) throw new JobSkipped(paused, { paused: true });
  if (run.request.dryRun) return null;
  const history = new RunHistory(db, run.timeZone);
  // A busy or briefly unreachable database is as transient here as inside the job.
  await withRetries(
    run.policy,
    run.env,
    'preparing the run history',
    async () => {
      await migrate(db);
      await history.sweepAbandoned(run.def.name);
    },
    run.signal,
  );
  if (paused) await recordSkip(run, history, paused, { paused: true });
  await takeLock(run, db, history);
  return history;
}

async function takeLock(run: RunState, db: Db, history: RunHistory): Promise<void> {
  const job = run.def.name;
  const { value: attempt } = await withRetries(
    run.policy,
    run.env,
    `taking the ${job} lock`,
    () => JobLock.acquire(db, job, { clock: run.env.clock, leaseMs: run.leaseMs, runId: run.runId }),
    run.signal,
  );
  if (!attempt.acquired) {
    const { host, pid } = attempt.holder;
    await recordSkip(run, history, lockedOutReason(job, attempt.holder, run.timeZone), { holder: { host, pid } });
    return;
  }
  run.lock = attempt.lock;
  const old = attempt.tookOverFrom;
  if (!old) return;
  run.logger.warn(
    `took over the ${job} lock left by pid ${old.pid} on ${old.host} (its process is gone or its lease expired)`,
  );
  if (old.runId) await history.markAbandoned(old.runId, `lock taken over by run ${run.runId}`);
}

function lockedOutReason(job: string, h: LockHolder, timeZone: string): string {
  const since = formatLocalDateTime(new Date(h.acquiredAtMs), timeZone);
  const until = formatLocalDateTime(new Date(h.leaseUntilMs), timeZone);
  return `another run holds the ${job} lock (host ${h.host}, pid ${h.pid}, since ${since}, lease until ${until})`;
}

/** The one way a skipped run is written: a finished `skipped` row whose result says why; then the run ends. */
async function recordSkip(
  run: RunState,
  history: RunHistory,
  reason: string,
  details: Record<string, unknown>,
): Promise<never> {
  await history.start({
    runId: run.runId,
    job: run.def.name,
    arguments: argumentsJson(run),
    startedAt: run.startedAt,
    status: 'skipped',
  });
  await history.finish(run.runId, {
    status: 'skipped',
    attempts: 0,
    finishedAt: run.env.clock.now(),
    durationMs: run.elapsedMs(),
    result: { skipped: true, reason, ...details },
    error: reason,
  });
  throw new JobSkipped(reason, details);
}
