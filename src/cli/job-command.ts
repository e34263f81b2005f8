import type { AnyJob, JobOption, OptionType } from '../jobs/definition.js';
import type { RunSummary } from '../runner/runner.js';
import { parseDay } from '../util/time.js';
import { action, reportError } from './action.js';
import { Command, CommanderError, InvalidArgumentError, Option } from './commander.js';
import { addCommonOptions, examples, globalOptions, pathOption } from './common-options.js';
import { writeOneLineErrors } from './output.js';
import { invokeJob, runJobCommand } from './run-job-command.js';

const FORCE_WHILE_PAUSED = 'run even while the job is paused (webjobs pause)';

/**
 * A job's subcommand, generated from its definition: its own options, the common ones,
 * `--force` (run while paused; a job whose own `--force` overrides a setting keeps it, and it
 * does both), its examples, and the action that hands the parsed options to the runner.
 */
export function addJobCommand(program: Command, def: AnyJob): Command {
  const cmd = program.command(def.name).description(def.description);
  for (const spec of def.options as JobOption<object>[]) cmd.addOption(commanderOption(spec));
  addCommonOptions(cmd, { dryRun: true });
  examples(cmd, [...def.examples]);
  const own = cmd.options.find((o) => o.long === '--force');
  if (own) own.description += '; also runs while the job is paused (webjobs pause)';
  else cmd.option('--force', FORCE_WHILE_PAUSED);
  cmd.action(action(async () => runJobCommand(cmd, def, jobOptions(def, cmd.opts()))));
  return cmd;
}

/**
 * Parses a job's arguments (a schedule entry's, plus the scheduler's global flags) with the
 * job's own command, without running it: the command the CLI would have built, for the runner.
 * Throws commander's error (already printed, one line) on a bad argument.
 */
export function parseJobArgs(def: AnyJob, args: string[]): Command {
  const program = new Command('webjobs').exitOverride().configureOutput({ writeErr: writeOneLineErrors });
  const cmd = addJobCommand(program, def).action(() => undefined);
  cmd.parse(args, { from: 'user' });
  return cmd;
}

/** The job's options from commander's values, in declaration order (the run history records them so). */
export function jobOptions(def: AnyJob, values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const spec of def.options as JobOption<Record<string, unknown>>[]) {
    const option = new Option(spec.flags);
    const raw = values[option.attributeName()];
    const value = option.required || option.optional ? raw : Boolean(raw);
    out[spec.key ?? option.attributeName()] = spec.convert ? (spec.convert as (v: unknown) => unknown)(value) : value;
  }
  return out;
}

function commanderOption(spec: JobOption<object>): Option {
  const option = new Option(spec.flags, spec.description);
  const name = option.long ?? spec.flags;
  if (spec.type) option.argParser(valueParser(spec.type, name));
  if (spec.default !== undefined) option.default(spec.default);
  return option;
}

/** Types only: a bad value is exit 2 with one line naming the option. */
function valueParser(type: OptionType, name: string): (value: string) => unknown {
  if (typeof type === 'object')
    return (value) => {
      if (!type.choice.includes(value))
        throw new InvalidArgumentError(`${name} must be one of ${type.choice.join(', ')}`);
      return value;
    };
  switch (type) {
    case 'int':
      return (value) => {
        if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError(`${name} must be a whole number`);
        return Number(value);
      };
    case 'number':
      return (value) => {
        const n = Number(value.trim());
        if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number`);
        return n;
      };
    case 'day':
      // A UsageError, not commander's: the line reads as the date checks in `resolve` do.
      return (value) => parseDay(value, name);
    case 'path':
      return pathOption(name);
    case 'list':
      return (value) =>
        value
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
  }
}

/**
 * Runs a job from its arguments as a crontab line would, but in this process under the
 * caller's signal (`webjobs schedule`): errors are reported as the CLI reports them (one line
 * on stderr); resolves to the exit code and, once the runner ran, its summary.
 */
export async function runJobArgs(
  def: AnyJob,
  args: string[],
  signal: AbortSignal,
): Promise<{ code: number; summary: RunSummary | null }> {
  let cmd: Command;
  try {
    cmd = parseJobArgs(def, args);
  } catch (err) {
    // commander has already printed its one-line message
    if (err instanceof CommanderError) return { code: err.exitCode === 0 ? 0 : 2, summary: null };
    return { code: reportError(err), summary: null };
  }
  try {
    const opts = cmd.opts() as { force?: boolean };
    const summary = await invokeJob(def, jobOptions(def, opts), {
      global: globalOptions(cmd),
      force: Boolean(opts.force),
      signal,
    });
    return { code: summary.exitCode, summary };
  } catch (err) {
    return { code: reportError(err), summary: null };
  }
}
