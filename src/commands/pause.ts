import { Command } from '../cli/commander.js';
import { action } from '../cli/action.js';
import { addCommonOptions, examples, globalOptions } from '../cli/common-options.js';
import { buildEnvironment } from '../cli/environment.js';
import { printJson } from '../cli/output.js';
import { TableMap } from '../config/tables.js';
import { isJobName } from '../jobs/registry.js';
import { ALL_JOBS, pauseNote, setPause } from '../runner/pause.js';
import { loadSchedule } from '../schedule/schedule.js';
import { UsageError } from '../util/errors.js';

function checkJob(job: string | undefined, scheduled: string[]): string {
  if (job === undefined) return ALL_JOBS;
  if (!isJobName(job) && !scheduled.includes(job))
    throw new UsageError(`unknown job "${job}" (known: ${[...new Set(scheduled)].join(', ')})`);
  return job;
}

export function register(program: Command): void {
  const pause = program
    .command('pause')
    .description(
      'Pause a job (or every job): its runs exit 0 as skipped, saying why, until `webjobs resume`; a run with --force still runs',
    )
    .argument('[job]', 'the job to pause (default: every job)')
    .option('--note <text>', 'why, shown by status and in the skipped runs');
  addCommonOptions(pause);
  examples(pause, [
    'webjobs pause backup-db --note "storage migration"',
    'webjobs pause          # every job',
    'webjobs backup-db --force   # runs even while paused',
  ]);
  pause.action(
    action(async (job: string | undefined, opts: { note?: string }) => {
      const env = buildEnvironment(globalOptions(pause));
      const key = checkJob(
        job,
        (await loadSchedule(env.config)).entries.map((e) => e.job),
      );
      const db = await env.openDb();
      try {
        const note = pauseNote(env.clock.now(), env.config.timezone, opts.note);
        await setPause(db, new TableMap(env.config), key, note);
        env.logger.info(`${key === ALL_JOBS ? 'every job' : key} paused (${note})`);
        if (env.json) printJson({ job: key, paused: true, note });
        return 0;
      } finally {
        await db.close();
      }
    }),
  );

  const resume = program
    .command('resume')
    .description('Resume a paused job (or, without a job, lift `webjobs pause` of every job)')
    .argument('[job]', 'the job to resume (default: every job)');
  addCommonOptions(resume);
  resume.action(
    action(async (job: string | undefined) => {
      const env = buildEnvironment(globalOptions(resume));
      const key = checkJob(
        job,
        (await loadSchedule(env.config)).entries.map((e) => e.job),
      );
      const db = await env.openDb();
      try {
        const was = await setPause(db, new TableMap(env.config), key, null);
        env.logger.info(
          was
            ? `${key === ALL_JOBS ? 'every job' : key} resumed`
            : `${key === ALL_JOBS ? 'the jobs were' : `${key} was`} not paused${key === ALL_JOBS ? ' as a whole' : ''}`,
        );
        if (env.json) printJson({ job: key, paused: false, changed: was });
        return 0;
      } finally {
        await db.close();
      }
    }),
  );
}
