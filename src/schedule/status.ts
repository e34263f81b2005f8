import { Settings } from '../config/settings.js';
import { TableMap } from '../config/tables.js';
import type { Config } from '../config/config.js';
import type { Db } from '../db/types.js';
import { isStale, readLock } from '../runner/lock.js';
import { pausedJobs } from '../runner/pause.js';
import { summarizeRuns } from '../runner/run-summary.js';
import { formatDuration, formatLocalDateTime } from '../util/time.js';
import { intervalMs, nextRun } from './cron-expr.js';
import type { ScheduleSettings } from './schedule.js';

export interface JobStatus {
  job: string;
  args: string[];
  schedule: string | null;
  cron: string | null;
  nextRun: string | null;
  intervalSeconds: number | null;
  lastRun: { status: string; startedAt: string; durationMs: number | null; host: string; error: string | null } | null;
  lastSuccess: { at: string; host: string } | null;
  lock: { host: string; pid: number; since: string; leaseUntil: string; stale: boolean } | null;
  paused: string | null;
  /** Set when the job has not succeeded within twice its interval. */
  stale: string | null;
}

export interface StatusReport {
  timeZone: string;
  now: string;
  jobs: JobStatus[];
  circuits: { total: number; closed: number; open: number; halfOpen: number; open_platforms: string[] } | null;
  stale: string[];
}

/** "3 d 2 h", "5 h 10 min", "12.00 s": spans people read at a glance. */
export function humanSpan(ms: number): string {
  const d = Math.floor(ms / 86_400_000);
  const h = Math.floor((ms % 86_400_000) / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  if (d) return h ? `${d} d ${h} h` : `${d} d`;
  if (h) return m ? `${h} h ${m} min` : `${h} h`;
  return formatDuration(ms);
}

/** Everything `webjobs status` shows, from the schedule, the run history, the locks and the settings. */
export async function buildStatus(
  db: Db,
  config: Config,
  schedule: ScheduleSettings,
  now: Date,
): Promise<StatusReport> {
  const tz = schedule.timeZone;
  const fmt = (ms: number) => formatLocalDateTime(new Date(ms), tz);
  const hasRuns = await db.tableExists('webjobs_runs');
  const hasLocks = await db.tableExists('webjobs_locks');
  const summaries = hasRuns
    ? await summarizeRuns(
        db,
        schedule.entries.map((e) => e.job),
      )
    : new Map();
  const settings = await Settings.load(db, config, new TableMap(config));
  const paused = pausedJobs(settings);
  const names = [...new Set([...schedule.entries.map((e) => e.job), ...summaries.keys()])];
  const jobs: JobStatus[] = [];
  for (const job of names) {
    const entry = schedule.entries.find((e) => e.job === job);
    const s = summaries.get(job);
    const holder = hasLocks ? await readLock(db, job) : null;
    const interval = entry ? intervalMs(entry.cron, now, tz) : Infinity;
    let stale: string | null = null;
    if (entry && Number.isFinite(interval)) {
      const limit = 2 * interval;
      const lastOk = s?.lastSuccess ? (s.lastSuccess.finishedMs ?? s.lastSuccess.startedMs) : null;
      if (lastOk !== null && now.getTime() - lastOk > limit)
        stale = `no success for ${humanSpan(now.getTime() - lastOk)} (more than twice its interval of ${humanSpan(interval)})`;
      else if (lastOk === null && s?.firstRunMs != null && now.getTime() - s.firstRunMs > limit)
        stale = `never succeeded since its first run on ${fmt(s.firstRunMs)}`;
    }
    const next = entry ? nextRun(entry.cron, now, tz) : null;
    jobs.push({
      job,
      args: entry?.args ?? [],
      schedule: entry?.words ?? null,
      cron: entry?.cron.normalized ?? null,
      nextRun: next ? formatLocalDateTime(next, tz) : null,
      intervalSeconds: Number.isFinite(interval) ? interval / 1000 : null,
      lastRun: s?.lastRun
        ? {
            status: s.lastRun.status,
            startedAt: fmt(s.lastRun.startedMs),
            durationMs: s.lastRun.durationMs,
            host: s.lastRun.host,
            error: s.lastRun.error,
          }
        : null,
      lastSuccess: s?.lastSuccess
        ? { at: fmt(s.lastSuccess.finishedMs ?? s.lastSuccess.startedMs), host: s.lastSuccess.host }
        : null,
      lock: holder
        ? {
            host: holder.host,
            pid: holder.pid,
            since: fmt(holder.acquiredAtMs),
            leaseUntil: fmt(holder.leaseUntilMs),
            stale: isStale(holder, now.getTime()),
          }
        : null,
      paused: paused.get(job) ?? paused.get('*') ?? null,
      stale,
    });
  }
  let circuits: StatusReport['circuits'] = null;
  const rows = (await db.tableExists('webjobs_circuits'))
    ? await db.query<{ platform: string; state: string }>('SELECT platform, state FROM webjobs_circuits')
    : [];
  // The table exists from the first run on (migrate makes every webjobs_ table): no rows is "none recorded".
  if (rows.length) {
    const by = (st: string) => rows.filter((r) => String(r.state).toLowerCase().replace('-', '_') === st);
    circuits = {
      total: rows.length,
      closed: by('closed').length,
      open: by('open').length,
      halfOpen: by('half_open').length,
      open_platforms: by('open').map((r) => String(r.platform)),
    };
  }
  return {
    timeZone: tz,
    now: formatLocalDateTime(now, tz),
    jobs,
    circuits,
    stale: jobs.filter((j) => j.stale).map((j) => j.job),
  };
}
