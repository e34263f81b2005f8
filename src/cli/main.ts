import { createRequire } from 'node:module';
import { Command, CommanderError } from './commander.js';
import { COMMANDS, registerCommands } from '../commands/index.js';
import { isJobName, loadJob, loadJobs } from '../jobs/registry.js';
import { isInteractive, loadTerminalModules } from '../log/logger.js';
import { lastExitCode, reportError, resetExitCode } from './action.js';
import { writeOneLineErrors } from './output.js';

const require = createRequire(import.meta.url);
const { version } = require('../../package.json') as { version: string };

/** The CLI with the subcommand `named` on the command line (or, when none or unknown, every subcommand). */
export async function buildProgram(named?: string): Promise<Command> {
  const program = new Command('webjobs')
    .description('Cron-driven maintenance jobs for a web application on MySQL/MariaDB or SQLite')
    .version(version, '-V, --version')
    .exitOverride()
    .configureOutput({ writeErr: writeOneLineErrors });
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
  await registerSubcommands(program, named);
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

/**
 * The subcommand named on the command line, its modules loaded alone (a cron run of one job
 * loads neither the other jobs nor the other commands), or every subcommand, the jobs first,
 * when none is named or the name is unknown (help, errors).
 */
async function registerSubcommands(program: Command, named: string | undefined): Promise<void> {
  if (named !== undefined && COMMANDS.some((c) => c.name === named)) return registerCommands(program, named);
  const { addJobCommand } = await import('./job-command.js');
  const job = named !== undefined && isJobName(named) ? await loadJob(named) : undefined;
  if (job) {
    addJobCommand(program, job);
    return;
  }
  for (const def of await loadJobs()) addJobCommand(program, def);
  await registerCommands(program);
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
