import type { Command } from 'commander';
import type { JobDefinition } from '../runner/job.js';
import { runJob, type RunObserver } from '../runner/runner.js';
import { CancelledError } from '../util/errors.js';
import { buildEnvironment } from './environment.js';
import { globalOptions } from './common-options.js';
import { printSummary } from './output.js';

/** Extra observers (monitoring) that a later layer registers once for every job. */
const observerFactories: Array<(env: ReturnType<typeof buildEnvironment>) => RunObserver[]> = [];
export function registerObservers(factory: (env: ReturnType<typeof buildEnvironment>) => RunObserver[]): void {
  observerFactories.push(factory);
}

/**
 * The thin bridge from a parsed command to the runner: build the environment, wire
 * SIGTERM/SIGINT to cancellation, run, print the summary, return the exit code.
 */
export async function runJobCommand<O extends object, R>(cmd: Command, def: JobDefinition<O, R>, options: O): Promise<number> {
  const opts = globalOptions(cmd);
  const env = buildEnvironment(opts);
  def.checkConfig?.(env.config, options);
  const cancel = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (cancel.signal.aborted) process.exit(130);
    env.logger.warn(`${sig} received: stopping ${def.name} at the next safe point`);
    cancel.abort(new CancelledError(`cancelled by ${sig}`));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    const summary = await runJob(def, options, {
      config: env.config,
      databaseUrl: env.databaseUrl,
      clock: env.clock,
      sleep: env.sleep,
      logger: env.logger,
      mailer: env.mailer,
      signal: cancel.signal,
      observers: observerFactories.flatMap((f) => f(env)),
    }, { dryRun: Boolean(opts.dryRun), args: { ...(options as object), dryRun: Boolean(opts.dryRun) } });
    printSummary(summary, env.json);
    return summary.exitCode;
  } finally {
    env.mailer.close();
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
