import os from 'node:os';
import { Command } from '../cli/commander.js';
import { action } from '../cli/action.js';
import { addCommonOptions, examples, globalOptions } from '../cli/common-options.js';
import { buildEnvironment } from '../cli/environment.js';
import { printJson } from '../cli/output.js';
import { forceUnlock, isStale, processAlive, readLock } from '../runner/lock.js';
import { migrate } from '../db/migrate.js';
import { formatLocalDateTime } from '../util/time.js';

export function register(program: Command): void {
  const cmd = program
    .command('unlock')
    .description("Clear a job's lock by hand (refuses while its holder is alive on this host, unless --force)")
    .argument('<job>', 'the job whose lock to clear')
    .option('--force', 'clear it even though its holder still runs (two runs may then overlap)');
  addCommonOptions(cmd);
  examples(cmd, ['webjobs unlock backup-db', 'webjobs status   # shows who holds each lock']);
  cmd.action(
    action(async (job: string, opts: { force?: boolean }) => {
      const env = buildEnvironment(globalOptions(cmd));
      const db = await env.openDb();
      try {
        await migrate(db);
        const tz = env.config.timezone;
        const holder = await readLock(db, job);
        if (!holder) {
          env.logger.info(`${job} is not locked`);
          if (env.json) printJson({ job, unlocked: false, holder: null });
          return 0;
        }
        const who = `host ${holder.host}, pid ${holder.pid}, since ${formatLocalDateTime(new Date(holder.acquiredAtMs), tz)}, lease until ${formatLocalDateTime(new Date(holder.leaseUntilMs), tz)}`;
        const here = holder.host === os.hostname();
        if (here && processAlive(holder.pid) && holder.pid !== process.pid && !opts.force) {
          env.logger.error(
            `the ${job} lock is held by a live process (${who}): not clearing it; stop that process, or use --force`,
          );
          if (env.json)
            printJson({ job, unlocked: false, holder: { host: holder.host, pid: holder.pid }, reason: 'holder alive' });
          return 1;
        }
        if (!here && !isStale(holder, env.clock.now().getTime()) && !opts.force) {
          env.logger.error(
            `the ${job} lock is held by another host with a live lease (${who}): its process cannot be checked from here; wait for the lease to end, or use --force`,
          );
          if (env.json)
            printJson({
              job,
              unlocked: false,
              holder: { host: holder.host, pid: holder.pid },
              reason: 'lease live on another host',
            });
          return 1;
        }
        await forceUnlock(db, job);
        if (holder.runId)
          await db.execute(
            "UPDATE webjobs_runs SET status = 'abandoned', error = ? WHERE run_id = ? AND status = 'running'",
            [`lock cleared by hand (webjobs unlock${opts.force ? ' --force' : ''})`, holder.runId],
          );
        env.logger.info(`cleared the ${job} lock (${who})`);
        if (env.json) printJson({ job, unlocked: true, holder: { host: holder.host, pid: holder.pid } });
        return 0;
      } finally {
        await db.close();
      }
    }),
  );
}
