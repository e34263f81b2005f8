import { AsyncLocalStorage } from 'node:async_hooks';
import type { Command } from 'commander';
import { TableMap } from '../config/tables.js';
import type { JobDefinition } from '../runner/job.js';
import { monitorsFor } from '../monitor/index.js';
import { runJob, type RunSummary } from '../runner/runner.js';
import { CancelledError } from '../util/errors.js';
import { buildEnvironment } from './environment.js';
import { globalOptions } from './common-options.js';
import { printSummary } from './output.js';

/**
 * Set by `webjobs schedule` around an in-process run: the scheduler owns the signals (its
 * SIGTERM stops the run through `signal`), and it receives the summary instead of stdout.
 */
export interface ScheduledInvocation {
  signal: AbortSignal;
  onSummary(summary: RunSummary): void;
}
export const scheduledInvocation = new AsyncLocalStorage<ScheduledInvocation>();

/**
 * The thin bridge from a parsed command to the runner: build the environment, wire
 * SIGTERM/SIGINT to cancellation, run, print the summary, return the exit code.
 */
export async function runJobCommand<O extends object, R>(
  cmd: Command,
  def: JobDefinition<O, R>,
  options: O,
): Promise<number> {
  const opts = globalOptions(cmd);
  const env = buildEnvironment(opts);
  new TableMap(env.config).checkAll();
  def.checkConfig?.(env.config, options);
  const scheduled = scheduledInvocation.getStore();
  const force = Boolean((cmd.opts() as { force?: boolean }).force);
  const cancel = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (cancel.signal.aborted) process.exit(130);
    env.logger.warn(`${sig} received: stopping ${def.name} at the next safe point`);
    cancel.abort(new CancelledError(`cancelled by ${sig}`));
  };
  if (!scheduled) {
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }
  try {
    const summary = await runJob(
      def,
      options,
      {
        config: env.config,
        databaseUrl: env.databaseUrl,
        clock: env.clock,
        sleep: env.sleep,
        logger: env.logger,
        mailer: env.mailer,
        signal: scheduled?.signal ?? cancel.signal,
        observers: monitorsFor(env),
      },
      {
        dryRun: Boolean(opts.dryRun),
        force,
        args: {
          ...(options as object),
          dryRun: Boolean(opts.dryRun),
          ...(force ? { force } : {}),
          ...(scheduled ? { scheduled: true } : {}),
        },
      },
    );
    if (scheduled) scheduled.onSummary(summary);
    else printSummary(summary, env.json);
    return summary.exitCode;
  } finally {
    env.mailer.close();
    if (!scheduled) {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    }
  }
}
