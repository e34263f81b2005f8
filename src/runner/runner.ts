import type { Config } from '../config/config.js';
import type { Db } from '../db/types.js';
import type { Logger } from '../log/logger.js';
import type { Mailer } from '../notify/mailer.js';
import type { Clock, Sleep } from '../util/clock.js';
import type { JobDefinition } from './job.js';
import { admit } from './phases/admit.js';
import { connect } from './phases/connect.js';
import { execute, jobContext } from './phases/execute.js';
import { finish } from './phases/finish.js';
import { stopped, succeeded } from './phases/outcome.js';
import { record } from './phases/record.js';
import { startRun } from './run-state.js';

type SummaryStatus = 'succeeded' | 'failed' | 'skipped' | 'dry-run';

/** The contract's JSON summary (plus a few extras). */
export interface RunSummary {
  job: string;
  status: SummaryStatus;
  dryRun: boolean;
  startedAt: string;
  durationMs: number;
  result: unknown;
  error?: string;
  reason?: string;
  attempts: number;
  runId: string;
  warnings: string[];
  exitCode: 0 | 1 | 2;
}

/** Monitoring hooks (pings, metrics): a failing observer is a warning, never a job failure. */
export interface RunObserver {
  onStart?(info: { job: string; runId: string; startedAt: Date }): Promise<void>;
  onFinish?(summary: RunSummary, logTail: string): Promise<void>;
}

export interface RunEnvironment {
  config: Config;
  databaseUrl: string;
  clock: Clock;
  sleep: Sleep;
  logger: Logger;
  mailer: Mailer;
  /** External cancellation (SIGTERM/SIGINT). */
  signal?: AbortSignal;
  observers?: RunObserver[];
  /** An already open database (tests); otherwise the runner opens and closes one. */
  db?: Db;
  openDb?: (url: string) => Promise<Db>;
}

export interface RunRequest {
  dryRun: boolean;
  /** The options as given, for the history row. */
  args: Record<string, unknown>;
  /** `--force`: run even when the job is paused (`webjobs pause`). */
  force?: boolean;
}

/**
 * Runs one job the same way for every caller (CLI, scheduler, tests), in five phases
 * (src/runner/phases/): connect (retrying transient failures), admit (not paused, lock taken),
 * record (history row, monitors' start), execute (retries, time budget, cancellation), and
 * finish (history outcome, lock release, mail, monitors' finish) whatever happened before.
 */
export async function runJob<O extends object, Resolved, R>(
  def: JobDefinition<O, Resolved, R>,
  options: O,
  env: RunEnvironment,
  request: RunRequest,
): Promise<RunSummary> {
  const run = startRun(def, env, request);
  try {
    const { db, tables, settings } = await connect(run);
    const resolved = def.resolve(run.env.config, settings, options);
    const history = await admit(run, db, settings);
    await record(run, history);
    const ctx = jobContext(run, db, tables, settings);
    succeeded(run, await execute(run, () => def.run(ctx, resolved)));
  } catch (err) {
    stopped(run, err);
  } finally {
    run.stopTimer();
  }
  return finish(run);
}
