import { Command } from '../cli/commander.js';
import { createReferenceSchema } from '../db/schema.js';
import { generateDemoData } from '../demo/generate.js';
import { createDemoWebsiteFile } from '../demo/website-files.js';
import { websiteDbPath } from '../jobs/aggregate-stats/website-stats.js';
import { loadJob } from '../jobs/registry.js';
import { action } from '../cli/action.js';
import { addCommonOptions, examples, globalOptions, intOption } from '../cli/common-options.js';
import { runJobCommand } from '../cli/run-job-command.js';
import { buildEnvironment } from '../cli/environment.js';

export function register(program: Command): void {
  const cmd = program
    .command('demo')
    .description('Create the reference schema, fill it with realistic generated data, then run backup-db on it')
    .option(
      '--rows <n>',
      'api_requests rows to generate (other tables scale with it)',
      intOption('--rows', 100, 100_000_000),
      20_000,
    )
    .option('--no-backup', 'only create and fill the database');
  addCommonOptions(cmd);
  examples(cmd, ['webjobs demo', 'webjobs demo --rows 1000000 --db mysql://root:secret@127.0.0.1/demo']);
  cmd.action(
    action(async (opts: { rows: number; backup: boolean }) => {
      const env = buildEnvironment(globalOptions(cmd));
      const db = await env.openDb();
      try {
        await createReferenceSchema(db);
        const existing = await db.queryOne<{ n: number }>(`SELECT COUNT(*) AS n FROM ${db.quote('api_requests')}`);
        if (Number(existing?.n ?? 0) > 0) {
          env.logger.info(
            `${db.description} already holds demo data (${existing?.n} api_requests rows): not generating again`,
          );
        } else {
          env.logger.step(`generating demo data in ${db.description}`);
          const counts = await generateDemoData(db, {
            rows: opts.rows,
            now: env.clock.now(),
            timeZone: env.config.timezone,
          });
          env.logger.finish();
          const total = Object.values(counts).reduce((a, b) => a + b, 0);
          env.logger.info(
            `demo data written: ${total} rows in ${Object.keys(counts).length} tables (${counts.api_requests} api_requests, ${counts.users} users)`,
          );
          const sites = await db.query<{ id: number }>(
            `SELECT ${db.quote('id')} AS id FROM ${db.quote('websites')} WHERE ${db.quote('status')} = 'active' ORDER BY ${db.quote('id')}`,
          );
          for (const site of sites) {
            const file = websiteDbPath(env.config, Number(site.id));
            if (
              createDemoWebsiteFile(file, {
                websiteId: Number(site.id),
                users: Math.max(20, Math.round(opts.rows / 100)),
                now: env.clock.now(),
                timeZone: env.config.timezone,
              })
            )
              env.logger.info(`website ${site.id}'s own database written: ${file}`);
          }
        }
      } finally {
        await db.close();
      }
      if (!opts.backup) return 0;
      const backupDb = await loadJob('backup-db');
      if (!backupDb) throw new Error('backup-db is not registered in this build of webjobs');
      return runJobCommand(cmd, backupDb, { type: 'critical', verify: true });
    }),
  );
}
