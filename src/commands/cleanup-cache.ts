import { Command } from '../cli/commander.js';
import { cleanupCacheJob, type CleanupCacheOptions } from '../jobs/cleanup-cache/index.js';
import { action } from '../cli/action.js';
import { addCommonOptions, examples } from '../cli/common-options.js';
import { addPurgeOptions, purgeOptionsFrom } from '../cli/purge-options.js';
import { runJobCommand } from '../cli/run-job-command.js';

export function register(program: Command): void {
  const cmd = program
    .command('cleanup-cache')
    .description('Delete expired cache rows in short chunks (the app keeps working), then optimize the table')
    .option('--force', 'run even when the setting cache-cleanup-enabled is 0')
    .option('--vacuum', 'VACUUM (SQLite) / OPTIMIZE TABLE (MariaDB) afterwards to reclaim space');
  addPurgeOptions(cmd);
  addCommonOptions(cmd, { dryRun: true });
  examples(cmd, [
    'webjobs cleanup-cache',
    'webjobs cleanup-cache --chunk 2000 --sleep 50 --max-runtime 600',
    'webjobs cleanup-cache --dry-run --json',
  ]);
  cmd.action(
    action(
      async (opts: {
        force?: boolean;
        vacuum?: boolean;
        chunk?: number;
        sleep?: number;
        maxRuntime?: number;
        maxLag?: number;
      }) => {
        const options: CleanupCacheOptions = {
          force: Boolean(opts.force),
          vacuum: Boolean(opts.vacuum),
          ...purgeOptionsFrom(opts),
        };
        return runJobCommand(cmd, cleanupCacheJob, options);
      },
    ),
  );
}
