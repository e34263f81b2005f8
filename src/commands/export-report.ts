import { Command } from '../cli/commander.js';
import { action } from '../cli/action.js';
import { addCommonOptions, choiceOption, examples } from '../cli/common-options.js';
import { runJobCommand } from '../cli/run-job-command.js';
import {
  exportReportJob,
  parseRecipients,
  PERIODS,
  REPORT_FORMATS,
  type ExportReportOptions,
} from '../jobs/export-report/index.js';
import { parseDay } from '../util/time.js';

export function register(program: Command): void {
  const cmd = program
    .command('export-report')
    .description(
      'User activity report (summary, top users/movies/series/searches, activity by type, suspicious IPs) as CSV, mailed to the admins',
    )
    .option(
      '--period <period>',
      'daily (1 day), weekly (7 days) or monthly (30 days), ending at the start of today',
      choiceOption('--period', PERIODS),
      'weekly',
    )
    .option('--end <YYYY-MM-DD>', 'end the period at the start of this day instead of today', (v: string) =>
      parseDay(v, '--end'),
    )
    .option(
      '--format <format>',
      'csv (with a BOM, for Excel) or json (for other tools)',
      choiceOption('--format', REPORT_FORMATS),
      'csv',
    )
    .option('--to <emails>', 'comma-separated recipients instead of the admins (mail.admins / WEBJOBS_ADMINS)')
    .option('--no-email', 'write the report file only');
  addCommonOptions(cmd, { dryRun: true });
  examples(cmd, [
    'webjobs export-report',
    'webjobs export-report --period monthly --end 2026-11-01 --to ops@example.com',
    'webjobs export-report --period daily --format json --no-email --json',
    'webjobs export-report --dry-run',
  ]);
  cmd.action(
    action(
      async (opts: {
        period: ExportReportOptions['period'];
        end?: string;
        format: ExportReportOptions['format'];
        to?: string;
        email: boolean;
      }) => {
        const options: ExportReportOptions = {
          period: opts.period,
          format: opts.format,
          email: opts.email !== false,
          ...(opts.to !== undefined ? { to: parseRecipients(opts.to) } : {}),
          ...(opts.end !== undefined ? { end: opts.end } : {}),
        };
        return runJobCommand(cmd, exportReportJob, options);
      },
    ),
  );
}
