import { Command } from '../cli/commander.js';
import { action } from '../cli/action.js';
import { addCommonOptions, examples, globalOptions } from '../cli/common-options.js';
import { buildEnvironment } from '../cli/environment.js';
import { ForegroundScheduler } from '../schedule/foreground.js';
import { loadSchedule } from '../schedule/schedule.js';

export function register(program: Command): void {
  const cmd = program
    .command('schedule')
    .description(
      'Run the schedule in the foreground (for hosts or containers without cron): same locks as cron runs, missed runs caught up at start, SIGTERM waits for the running job',
    )
    .option('--no-catch-up', 'do not run jobs whose last scheduled run was missed');
  addCommonOptions(cmd);
  examples(cmd, [
    'webjobs schedule',
    'webjobs schedule --config /srv/app/webjobs.config.json   # e.g. as a container command or systemd service',
  ]);
  cmd.action(
    action(async (opts: { catchUp: boolean }) => {
      const g = globalOptions(cmd);
      const env = buildEnvironment(g);
      const schedule = await loadSchedule(env.config);
      const globalArgs = [
        ...(g.config ? ['--config', g.config] : []),
        ...(g.db ? ['--db', g.db] : []),
        ...(g.quiet ? ['--quiet'] : []),
        ...(g.verbose ? ['--verbose'] : []),
      ];
      const scheduler = new ForegroundScheduler({
        schedule,
        logger: env.logger,
        openDb: env.openDb,
        globalArgs,
        catchUp: opts.catchUp,
      });
      const onSignal = (sig: NodeJS.Signals) => {
        void scheduler.stop(`${sig} received`);
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      try {
        await scheduler.start();
        await scheduler.finished;
      } finally {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
      }
      return scheduler.exitStatus;
    }),
  );
}
