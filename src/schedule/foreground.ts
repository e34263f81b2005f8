import cron from 'node-cron';
import type { ScheduledTask } from 'node-cron';
import { runJobArgs } from '../cli/job-command.js';
import type { Db } from '../db/types.js';
import { isJobName, loadJob } from '../jobs/registry.js';
import type { Logger } from '../log/logger.js';
import type { RunSummary } from '../runner/runner.js';
import { migrate } from '../db/migrate.js';
import { CancelledError, errorMessage } from '../util/errors.js';
import { formatDuration, formatLocalDateTime } from '../util/time.js';
import { nextRun, previousRun } from './cron-expr.js';
import { jitterOffsetSeconds, type ScheduleEntry, type ScheduleSettings } from './schedule.js';

export interface ForegroundOptions {
  schedule: ScheduleSettings;
  logger: Logger;
  openDb: () => Promise<Db>;
  /** Global flags every run gets (`--config`, `--db`, `--quiet`…), as on a crontab line. */
  globalArgs: string[];
  catchUp: boolean;
}

interface Running {
  startedAt: Date;
  done: Promise<void>;
  cancel: AbortController;
}

/**
 * `webjobs schedule`: the schedule run in-process by node-cron, each tick through the same options
 * parsing and runner as a crontab line (same locks: it never overlaps a cron-started run). A tick that
 * finds the job's previous run still going is skipped with a log line; runs missed while the
 * process was down are caught up once at start (within schedule.catchUpHours); SIGTERM/SIGINT
 * stops new runs and waits for the running ones (schedule.shutdownGraceSeconds).
 */
export class ForegroundScheduler {
  private readonly tasks: ScheduledTask[] = [];
  private readonly running = new Map<string, Running>();
  private stopping = false;
  private keepAlive: NodeJS.Timeout | null = null;
  private stopped!: () => void;
  readonly finished = new Promise<void>((resolve) => (this.stopped = resolve));
  private exitCode = 0;

  constructor(private readonly opts: ForegroundOptions) {}

  private get tz() {
    return this.opts.schedule.timeZone;
  }

  async start(): Promise<void> {
    const { schedule, logger } = this.opts;
    cron.setLogger({
      info: () => undefined,
      debug: () => undefined,
      warn: (m) => logger.debug(`node-cron: ${m}`),
      error: (m) => logger.warn(`node-cron: ${m instanceof Error ? m.message : m}`),
    });
    const now = new Date();
    logger.info(
      `schedule started (pid ${process.pid}, ${schedule.entries.length} job(s), time zone ${this.tz}, catch-up within ${schedule.catchUpHours} h)`,
    );
    for (const entry of schedule.entries) {
      if (!cron.validate(entry.cron.normalized))
        throw new Error(`node-cron rejects the expression of ${entry.job}: ${entry.cron.normalized}`);
      const next = nextRun(entry.cron, now, this.tz);
      logger.info(
        `  ${[entry.job, ...entry.args].join(' ')}: ${entry.words}, next ${next ? formatLocalDateTime(next, this.tz) : 'never'}${isJobName(entry.job) ? '' : ' (not in this build of webjobs: its ticks will fail)'}`,
      );
      const task = cron.createTask(entry.cron.normalized, () => this.tick(entry, 'scheduled'), {
        timezone: this.tz,
        name: entry.job,
        noOverlap: false,
      });
      this.tasks.push(task);
    }
    for (const t of this.tasks) await t.start();
    this.keepAlive = setInterval(() => undefined, 1 << 30);
    if (this.opts.catchUp && schedule.catchUpHours > 0) void this.catchUp(now);
  }

  /** Runs once every job whose last scheduled time (within catchUpHours) has no run recorded since. */
  private async catchUp(now: Date): Promise<void> {
    const { schedule, logger } = this.opts;
    const horizon = schedule.catchUpHours * 3_600_000;
    const due: Array<{ entry: ScheduleEntry; at: Date }> = [];
    let db: Db | null = null;
    try {
      db = await this.opts.openDb();
      await migrate(db);
      for (const entry of schedule.entries) {
        if (entry.cron.hasSeconds) continue; // sub-minute schedules catch up by themselves
        const last = previousRun(entry.cron, now, this.tz);
        if (!last) continue;
        const since = await db.queryOne<{ n: number | string }>(
          'SELECT COUNT(*) AS n FROM webjobs_runs WHERE job = ? AND started_ms >= ?',
          [entry.job, last.getTime() - 60_000],
        );
        if (Number(since?.n ?? 0) > 0) continue;
        if (now.getTime() - last.getTime() <= horizon) {
          due.push({ entry, at: last });
        } else {
          const ever = await db.queryOne<{ n: number | string }>(
            'SELECT COUNT(*) AS n FROM webjobs_runs WHERE job = ?',
            [entry.job],
          );
          if (Number(ever?.n ?? 0) > 0)
            logger.warn(
              `${entry.job} missed its run of ${formatLocalDateTime(last, this.tz)}, more than ${schedule.catchUpHours} h ago: not caught up (schedule.catchUpHours); run it by hand if it is still needed`,
            );
        }
      }
    } catch (err) {
      logger.error(
        `catch-up check failed: ${errorMessage(err)} — runs missed while the scheduler was down are NOT caught up`,
      );
      this.exitCode = 1;
      return;
    } finally {
      await db?.close().catch(() => undefined);
    }
    due.sort((a, b) => a.at.getTime() - b.at.getTime());
    if (!due.length) logger.info(`catch-up: no scheduled run missed within the last ${schedule.catchUpHours} h`);
    for (const { entry, at } of due) {
      if (this.stopping) return;
      logger.warn(
        `catch-up: ${entry.job} missed its run of ${formatLocalDateTime(at, this.tz)} (no run recorded since): running it now`,
      );
      await this.tick(entry, 'catch-up');
    }
  }

  /** One tick of one job: skipped (with the reason) while its previous run goes on. */
  async tick(entry: ScheduleEntry, why: 'scheduled' | 'catch-up'): Promise<void> {
    const { logger } = this.opts;
    if (this.stopping) return;
    const busy = this.running.get(entry.job);
    if (busy) {
      logger.warn(
        `${entry.job}: ${why} tick skipped: its previous run (started ${formatLocalDateTime(busy.startedAt, this.tz)}) is still going`,
      );
      if (why === 'catch-up') await busy.done;
      return;
    }
    const cancel = new AbortController();
    let finish!: () => void;
    const done = new Promise<void>((r) => (finish = r));
    const startedAt = new Date();
    this.running.set(entry.job, { startedAt, done, cancel });
    try {
      const delay = jitterOffsetSeconds(entry.job, this.opts.schedule.jitterSeconds);
      if (delay > 0 && why === 'scheduled') {
        logger.info(`${entry.job}: waiting the host's jitter offset of ${delay} s`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, delay * 1000);
          cancel.signal.addEventListener(
            'abort',
            () => {
              clearTimeout(t);
              resolve();
            },
            { once: true },
          );
        });
        if (cancel.signal.aborted || this.stopping) return;
      }
      const invocation = [entry.job, ...entry.args].join(' ');
      const def = await loadJob(entry.job);
      if (!def) {
        logger.error(
          `${entry.job}: no job of that name in this build of webjobs (is it registered in src/jobs/registry.ts?): ${why} run of "${invocation}" not started`,
        );
        return;
      }
      logger.info(`start: ${invocation} (${why}, ${entry.words})`);
      const t0 = performance.now();
      let s: RunSummary | null = null;
      let code: number;
      try {
        ({ code, summary: s } = await runJobArgs(def, [...entry.args, ...this.opts.globalArgs], cancel.signal));
      } catch (err) {
        logger.error(`${entry.job}: ${errorMessage(err)}`);
        code = 1;
      }
      const status = s
        ? s.status
        : code === 2
          ? 'rejected (bad usage or configuration)'
          : code === 0
            ? 'done'
            : 'failed';
      const detail =
        s?.status === 'failed' && s.error ? `: ${s.error}` : s?.status === 'skipped' && s.reason ? `: ${s.reason}` : '';
      const line = `end: ${invocation} ${status} in ${formatDuration(performance.now() - t0)} (exit ${code})${detail}`;
      if (code === 0) logger.info(line);
      else logger.error(line);
    } finally {
      this.running.delete(entry.job);
      finish();
    }
  }

  /** Stops taking runs; waits up to the grace for running jobs, then cancels them. */
  async stop(reason: string): Promise<number> {
    const { logger, schedule } = this.opts;
    if (this.stopping) {
      for (const r of this.running.values()) r.cancel.abort(new CancelledError(`cancelled: ${reason}`));
      return this.exitCode;
    }
    this.stopping = true;
    for (const t of this.tasks) await t.stop();
    const names = [...this.running.keys()];
    if (names.length) {
      logger.warn(
        `${reason}: taking no new runs; waiting up to ${schedule.shutdownGraceSeconds} s for ${names.join(', ')} to finish`,
      );
      const all = Promise.all([...this.running.values()].map((r) => r.done));
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        all.then(() => false),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(true), schedule.shutdownGraceSeconds * 1000))),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        logger.error(
          `still running after ${schedule.shutdownGraceSeconds} s: cancelling ${[...this.running.keys()].join(', ')}`,
        );
        for (const r of this.running.values())
          r.cancel.abort(new CancelledError(`cancelled: the scheduler is stopping (${reason})`));
        await Promise.race([all, new Promise((r) => setTimeout(r, 15_000).unref())]);
        this.exitCode = 1;
      }
    } else {
      logger.info(`${reason}: no job running; stopping`);
    }
    for (const t of this.tasks) await t.destroy();
    if (this.keepAlive) clearInterval(this.keepAlive);
    logger.info('schedule stopped');
    this.stopped();
    return this.exitCode;
  }

  /** 0, or 1 when a job had to be cancelled at shutdown or the catch-up check failed. */
  get exitStatus(): number {
    return this.exitCode;
  }

  runningJobs(): string[] {
    return [...this.running.keys()];
  }
}
