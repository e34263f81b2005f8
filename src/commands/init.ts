import { Command } from '../cli/commander.js';
import { createReferenceSchema } from '../db/schema.js';
import { migrate } from '../db/migrate.js';
import { action } from '../cli/action.js';
import { addCommonOptions, examples, globalOptions } from '../cli/common-options.js';
import { buildEnvironment } from '../cli/environment.js';
import { printJson } from '../cli/output.js';

export function register(program: Command): void {
  const cmd = program
    .command('init')
    .description("Create webjobs' own tables, and with --schema the reference schema (existing tables are left alone)")
    .option('--schema', 'also create the reference schema of the seeds (settings, api_requests, users, …)');
  addCommonOptions(cmd);
  examples(cmd, ['webjobs init --schema', 'webjobs init --schema --db mysql://app:secret@127.0.0.1:3306/app']);
  cmd.action(
    action(async (opts: { schema?: boolean }) => {
      const env = buildEnvironment(globalOptions(cmd));
      const db = await env.openDb();
      try {
        await migrate(db);
        const created = opts.schema ? await createReferenceSchema(db) : [];
        env.logger.info(
          opts.schema
            ? `reference schema ready in ${db.description} (${created.length} table(s) created)`
            : `webjobs tables ready in ${db.description}`,
        );
        if (env.json) printJson({ database: db.description, created });
        return 0;
      } finally {
        await db.close();
      }
    }),
  );
}
