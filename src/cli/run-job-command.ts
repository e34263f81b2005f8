import type { Command } from 'commander';
import { Settings } from '../config/settings.js';
import { TableMap } from '../config/tables.js';
import type { AnyJob } from '../jobs/definition.js';
import { monitorsFor } from '../monitor/index.js';
import { runJob, type RunSummary } from '../runner/runner.js';
import { CancelledError } from '../util/errors.js';
import { buildEnvironment, type GlobalOptions } from './environment.js';
import { globalOptions } from './common-options.js';
import { printSummary } from './output.js';

/** How a job was asked to run: the shared flags, `--force`, and who owns cancellation. */
export interface JobInvocation {
  global: GlobalOptions;
  /** `--force`: run even while the job is paused. */
  force: boolean;
  /**
   * Set by `webjobs schedule`: the scheduler owns the signals (its SIGTERM stops the run
   * through this). Without it, SIGTERM/SIGINT of this process cancel the run.
   */
  signal?: AbortSignal;
}

/** The CLI's action of every job command: run it, print the summary, return the exit code. */
export async function runJobCommand(cmd: Command, def: AnyJob, options: object): Promise<number> {
  const global = globalOptions(cmd);
  const force = Boolean((cmd.opts() as { force?: boolean }).force);
  const summary = await invokeJob(def, options, { global, force });
  printSummary(summary, Boolean(global.json));
  return summary.exitCode;
}

/**
 * The one bridge from parsed options to the runner, for the CLI and the scheduler: build the
 * environment, reject bad config or options before connecting (exit 2), run, return the summary.
 */
export async function invokeJob(def: AnyJob, options: object, invocation: JobInvocation): Promise<RunSummary> {
  const { global: opts, force } = invocation;
  const env = buildEnvironment(opts);
  const tables = new TableMap(env.config);
  tables.checkAll();
  // Settings from config only: the database's are read (and the options resolved again) by the runner.
  def.resolve(env.config, await Settings.load(null, env.config, tables), options);
  const scheduled = invocation.signal !== undefined;
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
    return await runJob(
      def,
      options,
      {
        config: env.config,
        databaseUrl: env.databaseUrl,
        clock: env.clock,
        sleep: env.sleep,
        logger: env.logger,
        mailer: env.mailer,
        signal: invocation.signal ?? cancel.signal,
        observers: monitorsFor(env),
      },
      {
        dryRun: Boolean(opts.dryRun),
        force,
        args: {
          ...options,
          dryRun: Boolean(opts.dryRun),
          ...(force ? { force } : {}),
          ...(scheduled ? { scheduled: true } : {}),
        },
      },
    );
  } finally {
    env.mailer.close();
    if (!scheduled) {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    }
  }
}
