import { Command } from '../cli/commander.js';
import { backupDbJob, parseBackupType, type BackupOptions } from '../jobs/backup-db/index.js';
import { action } from '../cli/action.js';
import { addCommonOptions, choiceOption, examples, intOption, pathOption } from '../cli/common-options.js';
import { runJobCommand } from '../cli/run-job-command.js';

export function register(program: Command): void {
  const cmd = program
    .command('backup-db')
    .description('Back up the database to backup_{type}_{time}.sql.gz (critical tables or everything)')
    .option(
      '--type <type>',
      'critical (config backup.critical) or full (every table, views, triggers)',
      choiceOption('--type', ['critical', 'full']),
      'critical',
    )
    .option('--out <dir>', 'folder for the backup (default: config backup.dir or ./var/backups)', pathOption('--out'))
    .option('--level <n>', 'gzip level 1-9 (default: config backup.level or 9)', intOption('--level', 1, 9))
    .option('--verify', 'restore into a scratch database and compare every table (fails the run on a mismatch)')
    .option(
      '--identity <file>',
      'age identity (secret key) file to --verify an encrypted backup (default: config backup.encrypt.identityFile)',
      pathOption('--identity'),
    );
  addCommonOptions(cmd, { dryRun: true });
  examples(cmd, [
    'webjobs backup-db --type critical',
    'webjobs backup-db --type full --verify --out /srv/backups',
    'webjobs backup-db --dry-run --json',
  ]);
  cmd.action(
    action(async (opts: { type: string; out?: string; level?: number; verify?: boolean; identity?: string }) => {
      const options: BackupOptions = {
        type: parseBackupType(opts.type),
        out: opts.out,
        level: opts.level,
        verify: Boolean(opts.verify),
        identity: opts.identity,
      };
      return runJobCommand(cmd, backupDbJob, options);
    }),
  );
}
