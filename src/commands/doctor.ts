import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Command } from '../cli/commander.js';
import { action } from '../cli/action.js';
import { addCommonOptions, examples, globalOptions } from '../cli/common-options.js';
import { buildEnvironment, type CommandEnvironment } from '../cli/environment.js';
import { printJson } from '../cli/output.js';
import { Settings, SETTING_DEFINITIONS } from '../config/settings.js';
import { TableMap } from '../config/tables.js';
import { REFERENCE_TABLES } from '../db/schema.js';
import type { Db } from '../db/types.js';
import { pingUrlFor } from '../monitor/healthchecks.js';
import { blockSignature, findBlock, renderCronBlock } from '../schedule/crontab.js';
import { loadSchedule } from '../schedule/schedule.js';
import { errorMessage } from '../util/errors.js';
import { cronTarget } from './cron.js';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';
export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
}

const MIN_NODE_MAJOR = 20;

function checkFolder(name: string, dir: string): Check {
  if (fs.existsSync(dir)) {
    if (!fs.statSync(dir).isDirectory()) return { name, status: 'fail', detail: `${dir} is not a folder` };
    try {
      fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
      return { name, status: 'ok', detail: `${dir} is writable` };
    } catch {
      return { name, status: 'fail', detail: `${dir} is not writable by this user` };
    }
  }
  let parent = path.dirname(dir);
  while (!fs.existsSync(parent) && parent !== path.dirname(parent)) parent = path.dirname(parent);
  try {
    fs.accessSync(parent, fs.constants.W_OK | fs.constants.X_OK);
    return { name, status: 'ok', detail: `${dir} does not exist yet; it will be created (${parent} is writable)` };
  } catch {
    return { name, status: 'fail', detail: `${dir} does not exist and ${parent} is not writable by this user` };
  }
}

async function databaseChecks(env: CommandEnvironment, checks: Check[]): Promise<void> {
  let db: Db;
  try {
    db = await env.openDb();
    await db.query('SELECT 1 AS one');
    checks.push({ name: 'database', status: 'ok', detail: `connected to ${db.description}` });
  } catch (err) {
    checks.push({
      name: 'database',
      status: 'fail',
      detail: `cannot connect to ${env.logger.mask(env.databaseUrl)}: ${env.logger.mask(errorMessage(err))}`,
    });
    return;
  }
  try {
    const tables = new TableMap(env.config);
    const own = [];
    for (const t of ['webjobs_runs', 'webjobs_locks']) if (!(await db.tableExists(t))) own.push(t);
    checks.push(
      own.length
        ? {
            name: 'schema: webjobs tables',
            status: 'warn',
            detail: `${own.join(', ')} missing: created on the first run (or now: webjobs init)`,
          }
        : { name: 'schema: webjobs tables', status: 'ok', detail: 'webjobs_runs and webjobs_locks present' },
    );
    const missing: string[] = [];
    for (const spec of REFERENCE_TABLES) {
      const name = tables.table(spec.name);
      if (!(await db.tableExists(name))) missing.push(name);
    }
    const settingsTable = tables.table('settings');
    if (missing.length === REFERENCE_TABLES.length)
      checks.push({
        name: 'schema: application tables',
        status: 'fail',
        detail: `none of the reference tables exists in ${db.description} (wrong database? or create them: webjobs init --schema)`,
      });
    else if (missing.length)
      checks.push({
        name: 'schema: application tables',
        status: 'warn',
        detail: `missing: ${missing.join(', ')} (the jobs that read them will fail)`,
      });
    else
      checks.push({
        name: 'schema: application tables',
        status: 'ok',
        detail: `all ${REFERENCE_TABLES.length} reference tables present`,
      });
    try {
      const settings = await Settings.load(db, env.config, tables);
      for (const d of SETTING_DEFINITIONS) {
        if (d.kind === 'int') settings.int(d.key);
        if (d.kind === 'bool') settings.bool(d.key);
      }
      checks.push({
        name: 'settings',
        status: 'ok',
        detail: missing.includes(settingsTable)
          ? 'no settings table: defaults apply'
          : 'every known setting holds a valid value',
      });
    } catch (err) {
      checks.push({ name: 'settings', status: 'fail', detail: errorMessage(err) });
    }
  } finally {
    await db.close();
  }
}

async function crontabCheck(
  env: CommandEnvironment,
  cwd: string | undefined,
  user: string | undefined,
): Promise<Check> {
  const name = 'crontab';
  const schedule = await loadSchedule(env.config, { allowSeconds: true });
  if (schedule.entries.some((e) => e.cron.hasSeconds))
    return {
      name,
      status: 'skip',
      detail: 'the schedule has per-second entries: it is meant for webjobs schedule, not cron',
    };
  const listed = spawnSync('crontab', user ? ['-u', user, '-l'] : ['-l'], { encoding: 'utf8' });
  if (listed.error)
    return {
      name,
      status: 'fail',
      detail: `the crontab program is not installed (${(listed.error as NodeJS.ErrnoException).code}); install cron, or use webjobs schedule and run doctor --no-crontab`,
    };
  const text = listed.status === 0 ? listed.stdout : '';
  const target = cronTarget(env.config, { cwd });
  const block = findBlock(text, target.cwd);
  if (!block)
    return {
      name,
      status: 'fail',
      detail: `no webjobs block for ${target.cwd} in this user's crontab: run ./setup-cron.sh (or doctor --no-crontab when webjobs schedule, a systemd timer or Kubernetes runs the jobs)`,
    };
  const expected = blockSignature(renderCronBlock(schedule, target));
  const installed = blockSignature(block);
  if (expected.join('\n') !== installed.join('\n')) {
    const differs =
      expected.filter((l) => !installed.includes(l)).length + installed.filter((l) => !expected.includes(l)).length;
    return {
      name,
      status: 'fail',
      detail: `the installed block for ${target.cwd} does not match the schedule (${differs} line(s) differ): re-run ./setup-cron.sh`,
    };
  }
  return {
    name,
    status: 'ok',
    detail: `block for ${target.cwd} installed and matching the schedule (${schedule.entries.length} job(s))`,
  };
}

export function register(program: Command): void {
  const cmd = program
    .command('doctor')
    .description(
      'Check the set-up: node version, config and schedule, database and schema, folders, mail server (handshake only), monitors, crontab block; exit 1 when a check fails',
    )
    .option('--no-crontab', 'do not check the crontab (jobs run by webjobs schedule, a systemd timer or Kubernetes)')
    .option('--cwd <dir>', 'the app folder the crontab block was installed for (default: the current one)')
    .option('--crontab-user <user>', "check this user's crontab (root only; as setup-cron.sh --user)");
  addCommonOptions(cmd);
  examples(cmd, ['webjobs doctor', 'webjobs doctor --no-crontab --json']);
  cmd.action(
    action(async (opts: { crontab: boolean; cwd?: string; crontabUser?: string }) => {
      const env = buildEnvironment(globalOptions(cmd));
      const checks: Check[] = [];
      const major = Number(process.versions.node.split('.')[0]);
      checks.push({
        name: 'node',
        status: major >= MIN_NODE_MAJOR ? 'ok' : 'fail',
        detail: `node ${process.versions.node} at ${process.execPath}${major >= MIN_NODE_MAJOR ? '' : ` (needs ${MIN_NODE_MAJOR} or later)`}`,
      });
      try {
        const s = await loadSchedule(env.config);
        checks.push({
          name: 'config',
          status: 'ok',
          detail: `${env.config.file ?? 'no config file (defaults)'}; schedule of ${s.entries.length} job(s) in ${s.timeZone}`,
        });
      } catch (err) {
        checks.push({ name: 'config', status: 'fail', detail: errorMessage(err) });
      }
      await databaseChecks(env, checks);
      const folders: Array<[string, string]> = [
        ['folder: backups', env.config.value('backup.dir')],
        ['folder: reports', env.config.value('report.dir')],
        ['folder: logs', cronTarget(env.config, { cwd: opts.cwd }).logDir],
      ];
      const metricsDir = env.config.value('monitor.textfileDir');
      if (metricsDir) folders.push(['folder: metrics', metricsDir]);
      for (const [name, dir] of folders) checks.push(checkFolder(name, dir));
      if (!env.mailer.configured) {
        checks.push({
          name: 'mail',
          status: 'warn',
          detail: 'no mail server configured (SMTP_URL or mail.url): notifications are skipped',
        });
      } else {
        try {
          await env.mailer.verify();
          checks.push({
            name: 'mail',
            status: env.mailer.admins.length ? 'ok' : 'warn',
            detail: `SMTP handshake with ${env.logger.mask(String(env.config.value('mail.url') ?? process.env.SMTP_URL))} succeeded${env.mailer.admins.length ? `; ${env.mailer.admins.length} admin(s)` : '; but no admins (mail.admins or WEBJOBS_ADMINS)'}`,
          });
        } catch (err) {
          checks.push({
            name: 'mail',
            status: 'fail',
            detail: `SMTP handshake failed: ${env.logger.mask(errorMessage(err))}`,
          });
        } finally {
          env.mailer.close();
        }
      }
      try {
        const jobs = Object.keys(env.config.value('monitor.pings'));
        for (const j of jobs) pingUrlFor(env.config, j);
        checks.push({
          name: 'monitors',
          status: 'ok',
          detail: `${jobs.length} ping URL(s)${env.config.value('monitor.textfileDir') ? ', metrics textfile' : ''} configured`,
        });
      } catch (err) {
        checks.push({ name: 'monitors', status: 'fail', detail: errorMessage(err) });
      }
      if (opts.crontab) {
        try {
          checks.push(await crontabCheck(env, opts.cwd, opts.crontabUser));
        } catch (err) {
          checks.push({ name: 'crontab', status: 'fail', detail: errorMessage(err) });
        }
      }
      const failed = checks.filter((c) => c.status === 'fail');
      if (env.json) {
        printJson({ ok: failed.length === 0, checks });
      } else {
        for (const c of checks)
          process.stdout.write(`${c.status.toUpperCase().padEnd(4)}  ${c.name.padEnd(26)} ${c.detail}\n`);
        process.stdout.write(
          failed.length
            ? `\n${failed.length} check(s) failed: ${failed.map((c) => c.name).join(', ')}\n`
            : '\nall checks passed\n',
        );
      }
      return failed.length ? 1 : 0;
    }),
  );
}
