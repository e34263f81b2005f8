import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from '../cli/commander.js';
import { action } from '../cli/action.js';
import { addCommonOptions, examples, globalOptions } from '../cli/common-options.js';
import { buildEnvironment } from '../cli/environment.js';
import { renderCronBlock, type CronTarget } from '../schedule/crontab.js';
import { loadSchedule } from '../schedule/schedule.js';
import type { Config } from '../config/config.js';

/** bin/webjobs.js of this install (dist/commands/cron.js → ../../bin). */
export const WEBJOBS_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/webjobs.js');

export interface CronPrintOptions {
  cwd?: string;
  node?: string;
  webjobs?: string;
  logDir?: string;
  host?: string;
}

export function cronTarget(config: Config, opts: CronPrintOptions): CronTarget {
  const cwd = path.resolve(opts.cwd ?? process.cwd());
  const logDir = opts.logDir
    ? path.resolve(cwd, opts.logDir)
    : config.get('schedule.logDir') !== undefined
      ? config.value('schedule.logDir')
      : path.join(cwd, 'var', 'log');
  return {
    cwd,
    node: opts.node ?? process.execPath,
    webjobs: opts.webjobs ?? WEBJOBS_BIN,
    logDir,
    configFile: config.file,
    host: opts.host ?? os.hostname(),
  };
}

export function register(program: Command): void {
  const cron = program.command('cron').description('The crontab block for the schedule (setup-cron.sh installs it)');
  const print = cron
    .command('print')
    .description(
      'Print the crontab block for config `schedule`: absolute paths, one log file per job, CRON_TZ when config sets a timezone',
    )
    .option('--cwd <dir>', 'working directory of the cron lines (default: the current one)')
    .option('--log-dir <dir>', 'folder of the <job>.log files (default: config schedule.logDir or <cwd>/var/log)')
    .option('--node <path>', 'node binary (default: the one running this command)')
    .option('--webjobs <path>', 'webjobs entry script (default: bin/webjobs.js of this install)')
    .option('--host <name>', 'host name that picks the jitter offsets (default: this host)');
  addCommonOptions(print);
  examples(print, [
    'webjobs cron print',
    'webjobs cron print --log-dir /var/log/webjobs --config /srv/app/webjobs.config.json',
    './setup-cron.sh --dry-run   # the whole crontab with this block',
  ]);
  print.action(
    action(async (opts: CronPrintOptions) => {
      const env = buildEnvironment(globalOptions(print));
      const schedule = await loadSchedule(env.config, { allowSeconds: false });
      if (process.env.DATABASE_URL && !env.config.value('database.url'))
        env.logger.warn(
          'DATABASE_URL is set in this shell, but cron will not have it: put database.url in the config file (or set DATABASE_URL at the top of the crontab)',
        );
      process.stdout.write(renderCronBlock(schedule, cronTarget(env.config, opts)));
      return 0;
    }),
  );
}
