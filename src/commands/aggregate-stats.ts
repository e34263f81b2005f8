import { Command } from '../cli/commander.js';
import { aggregateStatsJob, type AggregateOptions } from '../jobs/aggregate-stats/index.js';
import { action } from '../cli/action.js';
import { addCommonOptions, examples, intOption } from '../cli/common-options.js';
import { addPurgeOptions, purgeOptionsFrom } from '../cli/purge-options.js';
import { runJobCommand } from '../cli/run-job-command.js';

export function register(program: Command): void {
  const cmd = program
    .command('aggregate-stats')
    .description(
      'Roll api_requests up into api_statistics_summary (one row a day), purge detail past retention, merge per-website statistics',
    )
    .option('--date <YYYY-MM-DD>', 'the day to roll up (default: yesterday in config timezone)')
    .option('--from <YYYY-MM-DD>', 'first day of a backfill range')
    .option('--to <YYYY-MM-DD>', 'last day of a backfill range (default: yesterday)')
    .option(
      '--retention-days <n>',
      'keep this many days of detail (default: setting cache-statistics-retention-days, 30)',
      intOption('--retention-days', 1, 36500),
    )
    .option('--no-purge', 'roll up only; delete no detail rows')
    .option('--vacuum', 'after the purge, VACUUM (SQLite) / OPTIMIZE TABLE (MariaDB) to reclaim space')
    .option(
      '--website <id>',
      'per-website statistics for this website only',
      intOption('--website', 1, Number.MAX_SAFE_INTEGER),
    )
    .option('--no-websites', 'skip the per-website statistics');
  addPurgeOptions(cmd);
  addCommonOptions(cmd, { dryRun: true });
  examples(cmd, [
    'webjobs aggregate-stats',
    'webjobs aggregate-stats --from 2026-10-01 --to 2026-10-31 --no-purge',
    'webjobs aggregate-stats --dry-run --json',
  ]);
  cmd.action(
    action(
      async (opts: {
        date?: string;
        from?: string;
        to?: string;
        retentionDays?: number;
        purge: boolean;
        vacuum?: boolean;
        website?: number;
        websites: boolean;
        chunk?: number;
        sleep?: number;
        maxRuntime?: number;
        maxLag?: number;
      }) => {
        const options: AggregateOptions = {
          date: opts.date,
          from: opts.from,
          to: opts.to,
          retentionDays: opts.retentionDays,
          noPurge: !opts.purge,
          vacuum: Boolean(opts.vacuum),
          website: opts.website,
          noWebsites: !opts.websites,
          ...purgeOptionsFrom(opts),
        };
        return runJobCommand(cmd, aggregateStatsJob, options);
      },
    ),
  );
}
