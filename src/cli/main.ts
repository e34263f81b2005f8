import { createRequire } from 'node:module';
import { Command, CommanderError } from './commander.js';
import { registerCommands } from '../commands/index.js';
import { JOB_NAMES } from '../jobs/names.js';
import { isInteractive, loadTerminalModules } from '../log/logger.js';
import { lastExitCode, reportError, resetExitCode } from './action.js';

const require = createRequire(import.meta.url);
const { version } = require('../../package.json') as { version: string };

/** The CLI with the subcommand `named` on the command line (or, when none or unknown, every subcommand). */
export async function buildProgram(named?: string): Promise<Command> {
  const program = new Command('webjobs')
    .description('Cron-driven maintenance jobs for a web application on MySQL/MariaDB or SQLite')
    .version(version, '-V, --version')
    .exitOverride()
    .configureOutput({
      // An error stays one line even when the offending value holds a newline.
      writeErr: (s) => process.stderr.write(s.startsWith('error:') ? `${s.trimEnd().replace(/\r?\n/g, '\\n')}\n` : s),
    });
  program.addHelpText(
    'after',
    `
Exit codes: 0 done (or skipped), 1 the job failed, 2 bad usage or configuration.

Examples:
  $ webjobs demo                       create ./var/webjobs.sqlite with demo data and back it up
  $ webjobs backup-db --type critical  back up the critical tables
  $ webjobs backup-db --json --db mysql://app:secret@127.0.0.1:3306/app
`,
  );
  await registerCommands(program, named);
  for (const cmd of program.commands) {
    cmd.exitOverride();
    // Every job takes --force (run even while paused); a job whose command already has one (to override its own setting) keeps it.
    if (!JOB_NAMES.includes(cmd.name())) continue;
    const own = cmd.options.find((o) => o.long === '--force');
    if (own) own.description += '; also runs while the job is paused (webjobs pause)';
    else cmd.option('--force', 'run even while the job is paused (webjobs pause)');
  }
  return program;
}

/**
 * A reader that goes away (`webjobs … --help | head`) must not crash the CLI, nor stop a job
 * whose log nobody reads any more: output to a closed pipe is dropped.
 */
function ignoreClosedPipes(): void {
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.listeners('error').includes(dropClosedPipe)) continue;
    stream.on('error', dropClosedPipe);
  }
}

function dropClosedPipe(err: NodeJS.ErrnoException): void {
  if (err.code !== 'EPIPE') throw err;
}

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  ignoreClosedPipes();
  resetExitCode();
  if (isInteractive()) await loadTerminalModules();
  const named = argv[2]?.startsWith('-') ? undefined : argv[2];
  const program = await buildProgram(named);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help')
        return 0;
      // commander has already printed its one-line message
      return err.exitCode === 0 ? 0 : 2;
    }
    return reportError(err);
  }
  return lastExitCode();
}
