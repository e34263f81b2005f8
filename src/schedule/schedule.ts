import { createHash } from 'node:crypto';
import os from 'node:os';
import type { Config } from '../config/config.js';
import { loadJobs } from '../jobs/registry.js';
import { UsageError } from '../util/errors.js';
import { CronSyntaxError, describeCron, parseCron, type CronExpression } from './cron-expr.js';

/**
 * The one schedule that `cron print`, `setup-cron.sh`, `webjobs schedule`, `status` and `doctor`
 * all read: each job's default entry (its definition's `schedule`), overridden entry by entry
 * from config `schedule.jobs`.
 */
export interface ScheduleDefault {
  job: string;
  cron: string;
  args: string[];
  /** Why it runs then, for the comment above its crontab line. */
  purpose: string;
}

/**
 * The registered jobs' default entries, in the order they run in a day (first hour and minute;
 * jobs at the same time in registry order), so the crontab block reads as the night goes.
 */
export async function defaultSchedule(): Promise<ScheduleDefault[]> {
  const entries: ScheduleDefault[] = [];
  for (const job of await loadJobs())
    if (job.schedule) entries.push({ job: job.name, ...job.schedule, args: [...job.schedule.args] });
  const minuteOfDay = (e: ScheduleDefault) => {
    const c = parseCron(e.cron);
    return (c.hours[0] ?? 0) * 60 + (c.minutes[0] ?? 0);
  };
  return entries.sort((a, b) => minuteOfDay(a) - minuteOfDay(b));
}

export interface ScheduleEntry {
  job: string;
  cron: CronExpression;
  args: string[];
  purpose: string;
  /** "every day at 03:00". */
  words: string;
}

export interface ScheduleSettings {
  entries: ScheduleEntry[];
  jitterSeconds: number;
  catchUpHours: number;
  /** How long `webjobs schedule` waits for running jobs after SIGTERM before it gives up on them. */
  shutdownGraceSeconds: number;
  timeZone: string;
  /** True when config sets `timezone` (then crontab lines get CRON_TZ). */
  explicitTimeZone: boolean;
}

const JOB_NAME = /^[a-z][a-z0-9-]{0,63}$/;

/**
 * Reads config `schedule`: `{ "jobs": { "<job>": "<cron>" | { "cron": "...", "args": [...] } | false },
 * "jitterSeconds": 0, "catchUpHours": 12, "shutdownGraceSeconds": 300 }`. A bad expression is a
 * UsageError naming the job. `false` (or `null`) removes a default entry.
 */
export async function loadSchedule(
  config: Config,
  { allowSeconds = true }: { allowSeconds?: boolean } = {},
): Promise<ScheduleSettings> {
  const section = config.section('schedule');
  for (const key of Object.keys(section)) {
    if (!['jobs', 'jitterSeconds', 'catchUpHours', 'shutdownGraceSeconds', 'logDir'].includes(key))
      throw new UsageError(
        `config schedule.${key} is not a known key (jobs, jitterSeconds, catchUpHours, shutdownGraceSeconds, logDir)`,
      );
  }
  const raw = new Map<string, { cron: string; args: string[]; purpose: string }>();
  for (const d of await defaultSchedule()) raw.set(d.job, { cron: d.cron, args: [...d.args], purpose: d.purpose });
  for (const [job, value] of Object.entries(config.value('schedule.jobs'))) {
    if (!JOB_NAME.test(job)) throw new UsageError(`config schedule.jobs: "${job}" is not a job name`);
    if (value === false || value === null) {
      raw.delete(job);
      continue;
    }
    const base = raw.get(job) ?? { cron: '', args: [], purpose: '' };
    if (typeof value === 'string') {
      raw.set(job, { ...base, cron: value });
      continue;
    }
    if (typeof value !== 'object' || Array.isArray(value))
      throw new UsageError(
        `config schedule.jobs.${job} must be a cron expression, an object { "cron", "args" } or false`,
      );
    const v = value as Record<string, unknown>;
    for (const k of Object.keys(v))
      if (!['cron', 'args', 'purpose'].includes(k))
        throw new UsageError(`config schedule.jobs.${job}.${k} is not a known key (cron, args, purpose)`);
    if (v.cron !== undefined && typeof v.cron !== 'string')
      throw new UsageError(`config schedule.jobs.${job}.cron must be a string`);
    if (v.args !== undefined && (!Array.isArray(v.args) || v.args.some((a) => typeof a !== 'string')))
      throw new UsageError(`config schedule.jobs.${job}.args must be a list of strings`);
    if (v.purpose !== undefined && typeof v.purpose !== 'string')
      throw new UsageError(`config schedule.jobs.${job}.purpose must be a string`);
    raw.set(job, {
      cron: (v.cron as string | undefined) ?? base.cron,
      args: (v.args as string[] | undefined) ?? base.args,
      purpose: (v.purpose as string | undefined) ?? base.purpose,
    });
  }
  const entries: ScheduleEntry[] = [];
  for (const [job, r] of raw) {
    if (!r.cron) throw new UsageError(`config schedule.jobs.${job} has no cron expression`);
    for (const a of r.args) {
      if (/[\r\n\0]/.test(a)) throw new UsageError(`config schedule.jobs.${job}.args: an argument holds a line break`);
      if (/^--(config|db)(=|$)/.test(a))
        throw new UsageError(
          `config schedule.jobs.${job}.args: ${a.split('=')[0]} is set for the whole schedule, not per job`,
        );
    }
    let cron: CronExpression;
    try {
      cron = parseCron(r.cron, { allowSeconds });
    } catch (err) {
      if (err instanceof CronSyntaxError) throw new UsageError(`schedule for ${job}: "${r.cron}" ${err.message}`);
      throw err;
    }
    entries.push({ job, cron, args: r.args, purpose: r.purpose, words: describeCron(cron) });
  }
  return {
    entries,
    jitterSeconds: config.value('schedule.jitterSeconds'),
    catchUpHours: config.value('schedule.catchUpHours'),
    shutdownGraceSeconds: config.value('schedule.shutdownGraceSeconds'),
    timeZone: config.timezone,
    explicitTimeZone: config.value('timezone') !== undefined,
  };
}

/**
 * A fixed offset in [0, jitterSeconds] for this host and job: the same every time on one host
 * (so runs stay evenly spaced), different across hosts (so they do not all fire at :00).
 */
export function jitterOffsetSeconds(job: string, jitterSeconds: number, host = os.hostname()): number {
  if (jitterSeconds <= 0) return 0;
  const h = createHash('sha256').update(`${host}\0${job}`).digest();
  return h.readUInt32BE(0) % (jitterSeconds + 1);
}
