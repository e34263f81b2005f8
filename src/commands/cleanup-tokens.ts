import { Command } from '../cli/commander.js';
import { cleanupTokensJob, type CleanupTokensOptions } from '../jobs/cleanup-tokens/index.js';
import { action } from '../cli/action.js';
import { addCommonOptions, examples, intOption } from '../cli/common-options.js';
import { runJobCommand } from '../cli/run-job-command.js';

export function register(program: Command): void {
  const cmd = program
    .command('cleanup-tokens')
    .description(
      'Retire expired and idle API keys, clear expired verification tokens, summarize then delete old statistics, remove old temp files, sessions and tokens, apply retention.rules',
    )
    .option(
      '--inactive-days <n>',
      'active API keys unused this many days become inactive (default: config cleanup.inactiveDays or 90)',
      intOption('--inactive-days', 1, 36500),
    )
    .option(
      '--statistics-retention-days <n>',
      'website_statistics kept this many days (default: config cleanup.statisticsRetentionDays or 365)',
      intOption('--statistics-retention-days', 1, 36500),
    )
    .option(
      '--temp-hours <n>',
      'temporary files older than this many hours are removed (default: config cleanup.tempFileHours or 24)',
      intOption('--temp-hours', 1, 876000),
    )
    .option(
      '--session-days <n>',
      'sessions idle this many days are deleted (default: config cleanup.sessionIdleDays or 30)',
      intOption('--session-days', 1, 36500),
    )
    .option(
      '--chunk-size <n>',
      'rows per delete transaction (default: config cleanup.chunkSize or 1000)',
      intOption('--chunk-size', 1, 1_000_000),
    );
  addCommonOptions(cmd, { dryRun: true });
  examples(cmd, [
    'webjobs cleanup-tokens --dry-run',
    'webjobs cleanup-tokens --inactive-days 60 --json',
    'webjobs cleanup-tokens --config /etc/webjobs.json',
  ]);
  cmd.action(
    action(async (opts: CleanupTokensOptions) => {
      const options: CleanupTokensOptions = {
        inactiveDays: opts.inactiveDays,
        statisticsRetentionDays: opts.statisticsRetentionDays,
        tempHours: opts.tempHours,
        sessionDays: opts.sessionDays,
        chunkSize: opts.chunkSize,
      };
      return runJobCommand(cmd, cleanupTokensJob, options);
    }),
  );
}
