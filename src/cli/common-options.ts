import { Command, InvalidArgumentError, Option } from './commander.js';
import { checkPath } from '../util/paths.js';
import type { GlobalOptions } from './environment.js';

/** `--config`, `--db`, `--json`, `--quiet`, `--verbose` (and `--dry-run` for jobs) on a command. */
export function addCommonOptions(cmd: Command, { dryRun = false }: { dryRun?: boolean } = {}): Command {
  if (dryRun)
    cmd.option('--dry-run', 'report exactly what would be done; write nothing (no row, file, email or history)');
  return cmd
    .option('--json', 'print one JSON summary object on stdout at the end, nothing else')
    .option('--config <file>', 'config file (default: $WEBJOBS_CONFIG or ./webjobs.config.json)')
    .option(
      '--db <url>',
      'database URL: sqlite:<path> or mysql://user:pass@host:port/db (default: $DATABASE_URL, config, sqlite:./var/webjobs.sqlite)',
    )
    .addOption(new Option('--quiet', 'only warnings and errors').conflicts('verbose'))
    .option('--verbose', 'debug detail');
}

export function globalOptions(cmd: Command): GlobalOptions {
  return cmd.opts() as GlobalOptions;
}

/** Parsers for option values: a bad value is exit 2 with one line naming the option. */
export function intOption(name: string, min: number, max: number) {
  return (value: string): number => {
    if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError(`${name} must be a whole number`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`${name} must be between ${min} and ${max}`);
    return n;
  };
}

export function examples(cmd: Command, lines: string[]): Command {
  return cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`);
}

export function pathOption(name: string) {
  return (value: string): string => {
    try {
      return checkPath(value, name);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message.replace(`${name} `, ''));
    }
  };
}
