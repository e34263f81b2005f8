import { Command } from '../cli/commander.js';
import { action } from '../cli/action.js';
import { addCommonOptions, examples, globalOptions } from '../cli/common-options.js';
import { buildEnvironment } from '../cli/environment.js';
import { printJson } from '../cli/output.js';
import { loadSchedule } from '../schedule/schedule.js';
import { buildStatus } from '../schedule/status.js';
import { formatDuration } from '../util/time.js';

export function register(program: Command): void {
  const cmd = program
    .command('status')
    .description(
      'Per job: schedule, next run, last run, last success, lock holder, paused; circuits; exit 1 when a job has not succeeded within twice its interval',
    );
  addCommonOptions(cmd);
  examples(cmd, ['webjobs status', 'webjobs status --json   # for monitoring: exit 1 when a job is stale']);
  cmd.action(
    action(async () => {
      const env = buildEnvironment(globalOptions(cmd));
      const schedule = await loadSchedule(env.config);
      const db = await env.openDb();
      try {
        const report = await buildStatus(db, env.config, schedule, env.clock.now());
        if (env.json) {
          printJson(report);
        } else {
          const out: string[] = [`webjobs status at ${report.now} (${report.timeZone})`, ''];
          for (const j of report.jobs) {
            out.push(
              `${j.job}${j.args.length ? ' ' + j.args.join(' ') : ''}${j.stale ? '   !! STALE' : ''}${j.paused ? '   (paused)' : ''}`,
            );
            out.push(`  schedule:     ${j.schedule ? `${j.schedule} [${j.cron}]` : 'not scheduled'}`);
            if (j.nextRun) out.push(`  next run:     ${j.nextRun}`);
            out.push(
              `  last run:     ${j.lastRun ? `${j.lastRun.status} at ${j.lastRun.startedAt}${j.lastRun.durationMs !== null ? `, took ${formatDuration(j.lastRun.durationMs)}` : ''} on ${j.lastRun.host}${j.lastRun.error && j.lastRun.status !== 'succeeded' ? ` — ${j.lastRun.error}` : ''}` : 'never'}`,
            );
            out.push(`  last success: ${j.lastSuccess ? `${j.lastSuccess.at} on ${j.lastSuccess.host}` : 'never'}`);
            out.push(
              `  lock:         ${j.lock ? `held by ${j.lock.host} pid ${j.lock.pid} since ${j.lock.since}, lease until ${j.lock.leaseUntil}${j.lock.stale ? ' (stale: the next run takes it over)' : ''}` : 'free'}`,
            );
            if (j.paused) out.push(`  paused:       ${j.paused}`);
            if (j.stale) out.push(`  STALE:        ${j.stale}`);
            out.push('');
          }
          const c = report.circuits;
          out.push(
            c
              ? `circuits: ${c.total} platform(s): ${c.closed} closed, ${c.open} open${c.open_platforms.length ? ` (${c.open_platforms.join(', ')})` : ''}, ${c.halfOpen} half-open`
              : 'circuits: none recorded',
          );
          process.stdout.write(out.join('\n') + '\n');
          if (report.stale.length)
            env.logger.error(`stale: ${report.stale.join(', ')} (no success within twice the interval)`);
        }
        return report.stale.length ? 1 : 0;
      } finally {
        await db.close();
      }
    }),
  );
}
