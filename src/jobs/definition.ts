import type { Config } from '../config/config.js';
import type { Settings } from '../config/settings.js';
import type { MailMessage } from '../notify/mailer.js';
import type { JobContext, RunInfo } from '../runner/job.js';

/**
 * How commander reads an option's value: a value of the wrong type is exit 2 naming the option.
 * Ranges are not types: `resolve` checks them (with config and settings at hand).
 */
export type OptionType = 'int' | 'number' | 'day' | 'path' | 'list' | { choice: readonly string[] };

/** One command-line option of a job, declared once: the CLI's flag, its help line and what it sets. */
export interface JobOption<O> {
  /** commander's flags: `--level <n>` takes a value, `--vacuum` is a switch, `--no-purge` a negated one. */
  flags: string;
  description: string;
  /** The value's type (options that take a value; a switch is always true or false). */
  type?: OptionType;
  /** commander's default, shown in `--help`. */
  default?: string | number;
  /** The job option it sets, when not commander's name for the flag (`--sleep` sets `sleepMs`). */
  key?: keyof O & string;
  /** Turns the parsed value (undefined when not given) into the job option's (seconds into ms, a negation). */
  convert?: (value: never) => unknown;
}

/** When the job runs unless config `schedule.jobs` says otherwise. */
export interface JobSchedule {
  cron: string;
  args: string[];
  /** Why it runs then, for the comment above its crontab line. */
  purpose: string;
}

/**
 * A job: what it is (name, help, options, schedule), how its options and config are checked
 * and completed (`resolve`, once, before anything is written), and what it does (`run`).
 */
export interface JobDefinition<O extends object = Record<string, unknown>, Resolved = unknown, R = unknown> {
  name: string;
  /** The command's `--help` line. */
  description: string;
  /** The default crontab entry (none: the job runs only where config `schedule.jobs` names it). */
  schedule?: JobSchedule;
  /** The run is cut off (and fails) after this many seconds; config `jobs.<name>.timeoutSeconds` overrides. */
  timeoutSeconds: number;
  /** Settings (the `settings` table) the job reads: checked before anything is written; a malformed one is exit 2. */
  settingKeys?: readonly string[];
  /** Command lines shown under `--help`. */
  examples: readonly string[];
  /** Its own command-line options, in `--help` order (the shared ones are added by the CLI). */
  options: readonly JobOption<O>[];
  /** Checks options, config and settings and applies their defaults; throws UsageError (exit 2, one line). */
  resolve(config: Config, settings: Settings, options: O): Resolved;
  run(ctx: JobContext, resolved: Resolved): Promise<R>;
  /** The message admins get after a success (none when absent). */
  successEmail?(result: R, info: RunInfo): MailMessage | null;
  /** The message admins get after a failure (a generic one when absent). */
  failureEmail?(error: string, info: RunInfo): MailMessage | null;
}

/** Any job, whatever its types: what the registry, the CLI and the runner handle. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyJob = JobDefinition<any, any, any>;

/** Types a job's definition (the options, resolved and result types are inferred from it). */
export function defineJob<O extends object, Resolved, R>(
  definition: JobDefinition<O, Resolved, R>,
): JobDefinition<O, Resolved, R> {
  return definition;
}

/**
 * A job's `run` kept in its own module (`./run.ts`), loaded only when the job runs: listing the
 * jobs (`--help`, `status`, `cron print`) loads their definitions, not their work.
 */
export function runFrom<Resolved, R>(
  load: () => Promise<{ run(ctx: JobContext, resolved: Resolved): Promise<R> }>,
): (ctx: JobContext, resolved: Resolved) => Promise<R> {
  return async (ctx, resolved) => (await load()).run(ctx, resolved);
}
