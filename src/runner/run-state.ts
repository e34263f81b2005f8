import { randomUUID } from 'node:crypto';
import type { Db } from '../db/types.js';
import type { Logger } from '../log/logger.js';
import { TimeoutError } from '../util/errors.js';
import type { RunHistory } from './history.js';
import type { AnyJob, RunInfo } from './job.js';
import type { JobLock } from './lock.js';
import { retryPolicy, type RetryPolicy } from './retry.js';
import type { RunEnvironment, RunRequest, RunSummary } from './runner.js';

/** What the phases of one run share: the request, its budget, and what each phase has opened so far. */
export interface RunState {
  readonly def: AnyJob;
  readonly env: RunEnvironment;
  readonly request: RunRequest;
  readonly runId: string;
  readonly startedAt: Date;
  readonly logger: Logger;
  readonly timeZone: string;
  readonly policy: RetryPolicy;
  readonly leaseMs: number;
  /** The summary the run returns; each phase fills in its part. */
  readonly summary: RunSummary;
  /** Fires on external cancellation (SIGTERM/SIGINT), when the time budget is spent, or when the lock is lost. */
  readonly signal: AbortSignal;
  abort(reason: Error): void;
  stopTimer(): void;
  elapsedMs(): number;
  /** Collects a warning for the summary (masked) and logs it. */
  warn(message: string): void;
  db?: Db;
  lock: JobLock | null;
  /** Set once the run's own history row exists: finish completes that row. */
  history: RunHistory | null;
}

/** Reads the run's budget from config (a bad value is exit 2 before anything connects) and starts its clock. */
export function startRun(def: AnyJob, env: RunEnvironment, request: RunRequest): RunState {
  const t0 = performance.now();
  const startedAt = env.clock.now();
  const policy = retryPolicy(env.config);
  const timeoutSeconds =
    env.config.valueAt('jobs.<job>.timeoutSeconds', `jobs.${def.name}.timeoutSeconds`) ?? def.timeoutSeconds;
  const leaseMs = env.config.value('lock.leaseSeconds') * 1000;
  const summary = initialSummary(def.name, request, startedAt);
  const budget = timeBudget(def.name, timeoutSeconds, env.signal);
  return {
    def,
    env,
    request,
    runId: summary.runId,
    startedAt,
    logger: env.logger,
    timeZone: env.config.timezone,
    policy,
    leaseMs,
    summary,
    ...budget,
    elapsedMs: () => performance.now() - t0,
    warn(message) {
      summary.warnings.push(env.logger.mask(message));
      env.logger.warn(message);
    },
    db: env.db,
    lock: null,
    history: null,
  };
}

/** A failed run until a phase says otherwise. */
function initialSummary(job: string, request: RunRequest, startedAt: Date): RunSummary {
  return {
    job,
    status: 'failed',
    dryRun: request.dryRun,
    startedAt: startedAt.toISOString(),
    durationMs: 0,
    result: null,
    attempts: 0,
    runId: randomUUID(),
    warnings: [],
    exitCode: 1,
  };
}

/** One signal for external cancellation, the time budget, and whatever else stops the run from inside (a lost lock). */
function timeBudget(job: string, timeoutSeconds: number, external: AbortSignal | undefined) {
  const internal = new AbortController();
  const timer = setTimeout(
    () => internal.abort(new TimeoutError(`${job} timed out after ${timeoutSeconds} s`)),
    timeoutSeconds * 1000,
  );
  timer.unref();
  return {
    signal: external ? AbortSignal.any([external, internal.signal]) : internal.signal,
    abort: (reason: Error) => internal.abort(reason),
    stopTimer: () => clearTimeout(timer),
  };
}

/** What the mail templates know of the run. */
export function runInfo(run: RunState): RunInfo {
  return {
    job: run.def.name,
    runId: run.runId,
    startedAt: run.startedAt,
    durationMs: run.elapsedMs(),
    timeZone: run.timeZone,
    appName: run.env.config.value('app.name'),
    options: run.request.args,
  };
}

/** Round-trips a value through the logger's masking, so no registered secret reaches a history row or the JSON. */
function secretsFree(value: unknown, logger: Logger): unknown {
  const text = JSON.stringify(value ?? null);
  const masked = logger.mask(text);
  return masked === text ? value : JSON.parse(masked);
}

/** The run's options as its history row keeps them. */
export const argumentsJson = (run: RunState) => JSON.stringify(secretsFree(run.request.args, run.logger));

/** Stamps the duration and masks secrets; called before the outcome is recorded and again before it is returned. */
export function finalizeSummary(run: RunState): RunSummary {
  const summary = run.summary;
  summary.durationMs = Math.round(run.elapsedMs());
  summary.result = secretsFree(summary.result, run.logger);
  if (summary.error) summary.error = run.logger.mask(summary.error);
  return summary;
}
