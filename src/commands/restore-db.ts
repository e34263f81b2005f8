import { Command } from '../cli/commander.js';
import { inspectBackup, restoreBackup } from '../db/dump/restore.js';
import { action } from '../cli/action.js';
import { addCommonOptions, examples, globalOptions } from '../cli/common-options.js';
import { buildEnvironment } from '../cli/environment.js';
import { printJson } from '../cli/output.js';
import { identitiesFrom } from '../backup/encryption-config.js';

export function register(program: Command): void {
  const cmd = program
    .command('restore-db')
    .description('Restore a webjobs backup into a database (checked whole before anything is touched)')
    .argument('<file>', 'a backup_*.sql.gz (or .sql.gz.age) file written by webjobs backup-db')
    .option('--force', 'replace tables that already exist in the target')
    .option(
      '--identity <file>',
      'age identity (secret key) file for an encrypted backup (default: config backup.encrypt.identityFile)',
    );
  addCommonOptions(cmd);
  examples(cmd, [
    'webjobs restore-db var/backups/backup_critical_2026-11-25_03-00-00.sql.gz --db sqlite:./restored.sqlite',
    'webjobs restore-db backup_full_2026-11-25_03-00-00.sql.gz --db mysql://root:secret@127.0.0.1/app_copy --force',
  ]);
  cmd.action(
    action(async (file: string, opts: { force?: boolean; identity?: string }) => {
      const env = buildEnvironment(globalOptions(cmd));
      const identities = identitiesFrom(env.config, opts.identity);
      // Refuse a damaged or foreign file before the target is opened (opening a SQLite URL creates the file).
      await inspectBackup(file, { identities });
      const db = await env.openDb();
      try {
        const started = performance.now();
        env.logger.info(`restoring ${file} into ${db.description}`);
        const res = await restoreBackup(db, file, {
          force: Boolean(opts.force),
          identities,
          onStatement: (n) => env.logger.progress({ step: 'restoring', done: n, unit: 'statements' }),
        });
        env.logger.finish();
        const summary = {
          file,
          target: db.description,
          type: res.header.type,
          tables: res.tables,
          statements: res.statements,
          durationMs: Math.round(performance.now() - started),
        };
        env.logger.info(
          `restored ${res.tables.length} table(s) from a ${res.header.type} backup of ${res.header.created} (${res.statements} statements)`,
        );
        if (env.json) printJson(summary);
        return 0;
      } finally {
        env.logger.finish();
        await db.close();
      }
    }),
  );
}
