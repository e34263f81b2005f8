import path from 'node:path';
import { UsageError } from '../util/errors.js';
import { jitterOffsetSeconds, type ScheduleSettings } from './schedule.js';

/** Where and how the crontab lines run: every path absolute, because cron's PATH and directory are minimal. */
export interface CronTarget {
  node: string;
  webjobs: string;
  cwd: string;
  logDir: string;
  configFile: string | null;
  host: string;
}

/** The marker lines around the block; they name the app folder, so two apps of one user keep two blocks. */
function blockMarkers(cwd: string): { begin: string; end: string } {
  return { begin: `# BEGIN webjobs ${cwd}`, end: `# END webjobs ${cwd}` };
}

/** POSIX shell single quotes, then cron's own escape: an unescaped % in a crontab command is a newline. */
function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`.replace(/%/g, '\\%');
}

function checkPath(what: string, p: string): string {
  if (/[\r\n\0]/.test(p)) throw new UsageError(`${what} holds a line break: ${JSON.stringify(p)}`);
  if (!path.isAbsolute(p)) throw new UsageError(`${what} must be an absolute path, got ${p}`);
  return p;
}

/** The command part of one job's line (what follows the five time fields). */
function cronCommand(job: string, args: readonly string[], target: CronTarget, sleepSeconds = 0): string {
  const parts = [
    sleepSeconds > 0 ? `sleep ${sleepSeconds} &&` : '',
    `cd ${shellQuote(target.cwd)} &&`,
    shellQuote(target.node),
    shellQuote(target.webjobs),
    job,
    ...args.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a.replace(/%/g, '\\%') : shellQuote(a))),
    ...(target.configFile ? ['--config', shellQuote(target.configFile)] : []),
    '>>',
    shellQuote(path.join(target.logDir, `${job}.log`)),
    '2>&1',
  ];
  return parts.filter(Boolean).join(' ');
}

/** The whole block, markers included, ending with a newline. */
export function renderCronBlock(schedule: ScheduleSettings, target: CronTarget): string {
  for (const [what, p] of [
    ['the node path', target.node],
    ['the webjobs path', target.webjobs],
    ['the working directory', target.cwd],
    ['the log folder', target.logDir],
  ] as const)
    checkPath(what, p);
  if (target.configFile) checkPath('the config file', target.configFile);
  const { begin, end } = blockMarkers(target.cwd);
  const lines = [
    begin,
    '# Installed by setup-cron.sh from `webjobs cron print`: edits between these markers are replaced on the next install.',
  ];
  if (schedule.explicitTimeZone) lines.push(`CRON_TZ=${schedule.timeZone}`);
  if (schedule.jitterSeconds > 0)
    lines.push(
      `# Start times are spread by a fixed per-host offset of up to ${schedule.jitterSeconds} s (schedule.jitterSeconds).`,
    );
  for (const e of schedule.entries) {
    if (e.cron.hasSeconds)
      throw new UsageError(
        `schedule for ${e.job}: "${e.cron.source}" has a seconds field, which system cron cannot run (use webjobs schedule)`,
      );
    const invocation = [e.job, ...e.args].join(' ');
    lines.push(
      `# ${invocation}: ${e.words}${schedule.explicitTimeZone ? ` (${schedule.timeZone})` : ''}${e.purpose ? ` — ${e.purpose}` : ''}`,
    );
    lines.push(
      `${e.cron.normalized} ${cronCommand(e.job, e.args, target, jitterOffsetSeconds(e.job, schedule.jitterSeconds, target.host))}`,
    );
  }
  lines.push(end);
  return lines.join('\n') + '\n';
}

/** The block for `cwd` inside a crontab's text, or null. */
export function findBlock(crontab: string, cwd: string): string | null {
  const { begin, end } = blockMarkers(cwd);
  const lines = crontab.split('\n');
  const from = lines.indexOf(begin);
  if (from < 0) return null;
  const to = lines.indexOf(end, from);
  if (to < 0) return null;
  return lines.slice(from, to + 1).join('\n') + '\n';
}

/** The lines that matter when comparing an installed block with the schedule: no comments, no log path. */
export function blockSignature(block: string): string[] {
  return block
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'))
    .map((l) => l.replace(/ >> .* 2>&1$/, ''));
}
