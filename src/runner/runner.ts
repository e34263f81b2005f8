import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Config } from '../config/config.js';
import { Settings } from '../config/settings.js';
import { TableMap } from '../config/tables.js';
import { openDatabase } from '../db/connect.js';
import type { Db } from '../db/types.js';
import type { Logger } from '../log/logger.js';
import type { DeliveryResult, MailMessage, Mailer } from '../notify/mailer.js';
import type { Clock, Sleep } from '../util/clock.js';
import { CancelledError, errorMessage, JobSkipped, PartialFailure, TimeoutError, UsageError } from '../util/errors.js';
import { formatDuration, formatLocalDateTime } from '../util/time.js';
import { RunHistory, type RunStatus } from './history.js';
import type { JobContext, JobDefinition, RunInfo } from './job.js';
import { JobLock } from './lock.js';
import { ensureRunnerTables } from './tables.js';
import { isTransientError } from './transient.js';
import { pausedReason } from './pause.js';

export type SummaryStatus = 'succeeded' | 'failed' | 'skipped' | 'dry-run';

/** The contract's JSON summary (plus a few extras). */
export interface RunSummary {
  job: string;
  status: SummaryStatus;
  dryRun: boolean;
  startedAt: string;
  durationMs: number;
  result: unknown;
  error?: string;
  reason?: string;
  attempts: number;
  runId: string;
  warnings: string[];
  exitCode: 0 | 1 | 2;
}

/** Monitoring hooks (pings, metrics): a failing observer is a warning, never a job failure. */
export interface RunObserver {
  onStart?(info: { job: string; runId: string; startedAt: Date }): Promise<void>;
  onFinish?(summary: RunSummary, logTail: string): Promise<void>;
}

export interface RunEnvironment {
  config: Config;
  databaseUrl: string;
  clock: Clock;
  sleep: Sleep;
  logger: Logger;
  mailer: Mailer;
  /** External cancellation (SIGTERM/SIGINT). */
  signal?: AbortSignal;
  observers?: RunObserver[];
  /** An already open database (tests); otherwise the runner opens and closes one. */
  db?: Db;
  openDb?: (url: string) => Promise<Db>;
}

export interface RunRequest {
  dryRun: boolean;
  /** The options as given, for the history row. */
  args: Record<string, unknown>;
  /** `--force`: run even when the job is paused (`webjobs pause`). */
  force?: boolean;
}

interface RetryPolicy {
  tries: number;
  backoffMs: number[];
}

export function retryPolicy(config: Config): RetryPolicy {
  const tries = config.number('retry.tries', 3, { min: 1, max: 20 });
  const raw = config.get('retry.backoffSeconds');
  let backoff = [1, 5, 10];
  if (raw !== undefined) {
    if (!Array.isArray(raw) || raw.some((x) => typeof x !== 'number' || x < 0))
      throw new UsageError('config retry.backoffSeconds must be a list of seconds');
    backoff = raw as number[];
  }
  return { tries, backoffMs: backoff.map((s) => s * 1000) };
}

const backoffFor = (p: RetryPolicy, retry: number) => p.backoffMs[Math.min(retry, p.backoffMs.length - 1)] ?? 0;

/** Runs `fn` again after the policy's backoff while it fails with a transient error. */
async function withRetries<T>(
  policy: RetryPolicy,
  env: RunEnvironment,
  what: string,
  fn: (attempt: number) => Promise<T>,
  signal?: AbortSignal,
): Promise<{ value: T; attempts: number }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return { value: await fn(attempt), attempts: attempt };
    } catch (err) {
      if (attempt >= policy.tries || !isTransientError(err) || signal?.aborted) {
        (err as { attempts?: number }).attempts = attempt;
        throw err;
      }
      const wait = backoffFor(policy, attempt - 1);
      env.logger.warn(
        `${what} failed (${errorMessage(err)}); try ${attempt + 1} of ${policy.tries} in ${formatDuration(wait)}`,
      );
      await env.sleep(wait, signal);
    }
  }
}

function secretsFree(value: unknown, logger: Logger): unknown {
  // Round-trip through the logger's masking so no registered secret reaches a history row or the JSON.
  const text = JSON.stringify(value ?? null);
  const masked = maskWith(logger, text);
  return masked === text ? value : JSON.parse(masked);
}

function maskWith(logger: Logger, text: string): string {
  return logger.mask(text);
}

/**
 * Runs one job the same way for every caller (CLI, scheduler, tests): connect (retrying
 * transient failures), take the job's lock, record the run, run it with retries, a time
 * budget and cancellation, record the outcome, release the lock, notify.
 */
export async function runJob<O extends object, Resolved, R>(
  def: JobDefinition<O, Resolved, R>,
  options: O,
  env: RunEnvironment,
  request: RunRequest,
): Promise<RunSummary> {
  const runId = randomUUID();
  const startedAt = env.clock.now();
  const t0 = performance.now();
  const logger = env.logger;
  const warnings: string[] = [];
  const timeZone = env.config.timezone;
  const policy = retryPolicy(env.config);
  const timeoutSeconds = env.config.number(`jobs.${def.name}.timeoutSeconds`, def.timeoutSeconds, {
    min: 1,
    max: 7 * 86400,
  });
  const leaseMs = env.config.number('lock.leaseSeconds', 60, { min: 1, max: 3600 }) * 1000;

  const summary: RunSummary = {
    job: def.name,
    status: 'failed',
    dryRun: request.dryRun,
    startedAt: startedAt.toISOString(),
    durationMs: 0,
    result: null,
    attempts: 0,
    runId,
    warnings,
    exitCode: 1,
  };
  const finishSummary = () => {
    summary.durationMs = Math.round(performance.now() - t0);
    summary.result = secretsFree(summary.result, logger);
    if (summary.error) summary.error = maskWith(logger, summary.error);
    return summary;
  };

  const timeout = new AbortController();
  const signal = env.signal ? AbortSignal.any([env.signal, timeout.signal]) : timeout.signal;
  const timer = setTimeout(
    () => timeout.abort(new TimeoutError(`${def.name} timed out after ${timeoutSeconds} s`)),
    timeoutSeconds * 1000,
  );
  timer.unref();

  let db: Db | undefined = env.db;
  let lock: JobLock | null = null;
  let history: RunHistory | null = null;
  let historyStarted = false;
  const info = (): RunInfo => ({
    job: def.name,
    runId,
    startedAt,
    durationMs: performance.now() - t0,
    timeZone,
    appName: env.config.string('app.name', 'webjobs'),
    options: request.args,
  });

  function warn(message: string) {
    warnings.push(maskWith(logger, message));
    logger.warn(message);
  }

  try {
    if (!db) {
      const open =
        env.openDb ??
        ((url: string) =>
          openDatabase(url, { busyTimeoutMs: env.config.number('database.busyTimeoutMs', 5000, { min: 0 }) }));
      db = (
        await withRetries(
          policy,
          env,
          `connecting to ${maskWith(logger, env.databaseUrl)}`,
          () => open(env.databaseUrl),
          signal,
        )
      ).value;
    }
    const tables = new TableMap(env.config);
    const settings = await Settings.load(db, env.config, tables);
    // A malformed setting is bad configuration: exit 2 before anything is written.
    for (const key of def.settingKeys ?? []) settings.check(key);
    const resolved = def.resolve(env.config, settings, options);
    logger.info(`${def.name} started${request.dryRun ? ' (dry run: nothing will be written)' : ''}`);

    const paused = request.force ? null : pausedReason(settings, def.name);
    if (paused && request.dryRun) throw new JobSkipped(paused, { paused: true });
    if (!request.dryRun) {
      const opened = db;
      history = new RunHistory(opened, timeZone);
      const runHistory = history;
      // A busy or briefly unreachable database is as transient here as inside the job.
      await withRetries(
        policy,
        env,
        'preparing the run history',
        async () => {
          await ensureRunnerTables(opened);
          await runHistory.sweepAbandoned(def.name);
        },
        signal,
      );
      if (paused) {
        await history.start({
          runId,
          job: def.name,
          arguments: JSON.stringify(secretsFree(request.args, logger)),
          startedAt,
          status: 'skipped',
        });
        await history.finish(runId, {
          status: 'skipped',
          attempts: 0,
          finishedAt: env.clock.now(),
          durationMs: performance.now() - t0,
          result: { skipped: true, reason: paused, paused: true },
          error: paused,
        });
        throw new JobSkipped(paused, { paused: true });
      }
      const { value: attempt } = await withRetries(
        policy,
        env,
        `taking the ${def.name} lock`,
        () => JobLock.acquire(opened, def.name, { clock: env.clock, leaseMs, runId }),
        signal,
      );
      if (!attempt.acquired) {
        const h = attempt.holder;
        const reason = `another run holds the ${def.name} lock (host ${h.host}, pid ${h.pid}, since ${formatLocalDateTime(new Date(h.acquiredAtMs), timeZone)}, lease until ${formatLocalDateTime(new Date(h.leaseUntilMs), timeZone)})`;
        await history.start({
          runId,
          job: def.name,
          arguments: JSON.stringify(secretsFree(request.args, logger)),
          startedAt,
          status: 'skipped',
        });
        await history.finish(runId, {
          status: 'skipped',
          attempts: 0,
          finishedAt: env.clock.now(),
          durationMs: performance.now() - t0,
          result: { skipped: true, reason, holder: { host: h.host, pid: h.pid } },
          error: reason,
        });
        throw new JobSkipped(reason, { holder: { host: h.host, pid: h.pid } });
      }
      lock = attempt.lock;
      if (attempt.tookOverFrom) {
        const old = attempt.tookOverFrom;
        logger.warn(
          `took over the ${def.name} lock left by pid ${old.pid} on ${old.host} (its process is gone or its lease expired)`,
        );
        if (old.runId) await history.markAbandoned(old.runId, `lock taken over by run ${runId}`);
      }
      // The history row starts when the lock is held, so no two rows of one job ever overlap.
      await history.start({
        runId,
        job: def.name,
        arguments: JSON.stringify(secretsFree(request.args, logger)),
        startedAt: env.clock.now(),
      });
      historyStarted = true;
      // Monitors hear of a run only once it holds the lock: a run skipped here (another server has it) pings nothing.
      for (const o of env.observers ?? []) {
        await o
          .onStart?.({ job: def.name, runId, startedAt })
          .catch((err) => warn(`monitor start ping failed: ${errorMessage(err)}`));
      }
      lock.startRenewing(
        (err) => timeout.abort(err),
        (err) => logger.warn(`could not renew the ${def.name} lock: ${errorMessage(err)}`),
      );
    }

    const ctx: JobContext = {
      job: def.name,
      runId,
      db,
      config: env.config,
      tables,
      settings,
      clock: env.clock,
      sleep: env.sleep,
      logger,
      mailer: env.mailer,
      dryRun: request.dryRun,
      signal,
      timeZone,
      warn,
    };

    const { value, attempts } = await withRetries(
      policy,
      env,
      def.name,
      async (n) => {
        summary.attempts = n;
        if (n > 1 && history) await history.setAttempts(runId, n).catch(() => undefined);
        return runWithSignal(def.run(ctx, resolved), signal);
      },
      signal,
    );
    summary.attempts = attempts;
    summary.result = value;
    summary.status = request.dryRun ? 'dry-run' : 'succeeded';
    summary.exitCode = 0;
    logger.finish();
    logger.info(`${def.name} ${summary.status} in ${formatDuration(performance.now() - t0)}`);
  } catch (err) {
    logger.finish();
    summary.attempts = Math.max(summary.attempts, (err as { attempts?: number }).attempts ?? summary.attempts);
    if (err instanceof JobSkipped) {
      summary.status = 'skipped';
      summary.reason = err.message;
      summary.result = { skipped: true, reason: err.message, ...err.result };
      summary.exitCode = 0;
      logger.info(`skipped: ${err.message}`);
    } else {
      summary.status = 'failed';
      summary.error = describeError(err, env, db);
      summary.exitCode = err instanceof UsageError ? 2 : 1;
      if (err instanceof PartialFailure) summary.result = err.result;
      logger.error(`${def.name} failed: ${summary.error}`);
    }
  } finally {
    clearTimeout(timer);
  }

  finishSummary();
  if (history && historyStarted) {
    const status: RunStatus =
      summary.status === 'failed' && signal.aborted && signal.reason instanceof CancelledError
        ? 'cancelled'
        : (summary.status as RunStatus);
    await history
      .finish(runId, {
        status,
        attempts: summary.attempts,
        finishedAt: env.clock.now(),
        durationMs: summary.durationMs,
        result: summary.result,
        error: summary.error ?? summary.reason,
      })
      .catch((err) => warn(`could not record the run's outcome: ${errorMessage(err)}`));
  }
  if (lock) await lock.release().catch((err) => warn(`could not release the ${def.name} lock: ${errorMessage(err)}`));
  if (!request.dryRun && summary.status !== 'skipped') await notify(def, summary, info(), env, warn);
  for (const o of request.dryRun ? [] : (env.observers ?? [])) {
    await o
      .onFinish?.(summary, logger.tail())
      .catch((err) => warn(`monitor finish report failed: ${errorMessage(err)}`));
  }
  if (db && !env.db) await db.close().catch(() => undefined);
  return finishSummary();
}

/** Settles with the job, or rejects as soon as the signal fires — after a short grace for the job's own cleanup. */
async function runWithSignal<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) throw signal.reason;
  let onAbort: () => void = () => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      // Give the job up to 3 s to roll back and remove its temporary files, then give up on it.
      const grace = setTimeout(() => reject(signal.reason), 3000);
      grace.unref();
      work.then(
        () => {
          clearTimeout(grace);
          reject(signal.reason);
        },
        () => {
          clearTimeout(grace);
          reject(signal.reason);
        },
      );
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

function describeError(err: unknown, env: RunEnvironment, db: Db | undefined): string {
  const message = errorMessage(err);
  if (
    err instanceof UsageError ||
    err instanceof PartialFailure ||
    err instanceof CancelledError ||
    err instanceof TimeoutError ||
    err instanceof JobSkipped
  )
    return message;
  const code = (err as { code?: string }).code;
  if (isTransientError(err) || code === 'ER_ACCESS_DENIED_ERROR' || code === 'ER_BAD_DB_ERROR') {
    // Name the database (password masked) so the morning-after reader knows where to look.
    const where = db?.description ?? maskWith(env.logger, env.databaseUrl);
    return `database ${where}: ${message}${code && !message.includes(code) ? ` (${code})` : ''}`;
  }
  return message;
}

async function notify<O extends object, Resolved, R>(
  def: JobDefinition<O, Resolved, R>,
  summary: RunSummary,
  info: RunInfo,
  env: RunEnvironment,
  warn: (m: string) => void,
): Promise<void> {
  let message: MailMessage | null = null;
  if (summary.status === 'succeeded' && def.successEmail) message = def.successEmail(summary.result as R, info);
  if (summary.status === 'failed')
    message = def.failureEmail
      ? def.failureEmail(summary.error ?? 'unknown error', info)
      : genericFailureEmail(def.name, summary, info);
  if (!message) return;
  await sendToAdmins(env.mailer, message, env.logger, warn);
}

export interface AdminMailOutcome {
  sent: string[];
  failed: string[];
  /** Per recipient: tries, message id or error. Empty when mail was skipped. */
  results: DeliveryResult[];
  /** Why nothing was sent (mail not configured, no recipients), when so. */
  skipped?: string;
}

/**
 * Sends one message to each admin (or to `recipients`); transient SMTP errors are retried by
 * the mailer with backoff (each retry logged); a recipient that still fails is a warning,
 * never a job failure.
 */
export async function sendToAdmins(
  mailer: Mailer,
  message: MailMessage,
  logger: Logger,
  warn: (m: string) => void,
  recipients: readonly string[] = mailer.admins,
  signal?: AbortSignal,
): Promise<AdminMailOutcome> {
  if (!mailer.configured) {
    const skipped = 'mail not configured (SMTP_URL or config mail.url)';
    logger.info(`${skipped}: "${message.subject}" not sent`);
    return { sent: [], failed: [], results: [], skipped };
  }
  if (recipients.length === 0) {
    const skipped = 'no admins configured (mail.admins or WEBJOBS_ADMINS)';
    logger.info(`${skipped}: "${message.subject}" not sent`);
    return { sent: [], failed: [], results: [], skipped };
  }
  const report = await mailer.sendEach(recipients, message, {
    signal,
    onRetry: (r) =>
      logger.warn(`mail to ${r.to} failed (${r.error}); try ${r.attempt + 1} in ${formatDuration(r.delayMs)}`),
  });
  if (report.sent.length) logger.info(`mail "${message.subject}" sent to ${report.sent.join(', ')}`);
  for (const f of report.failed)
    warn(`mail to ${f.to} failed${f.attempts > 1 ? ` after ${f.attempts} tries` : ''}: ${f.error}`);
  return { sent: report.sent, failed: report.failed.map((f) => f.to), results: report.results };
}

function genericFailureEmail(job: string, summary: RunSummary, info: RunInfo): MailMessage {
  return {
    subject: `[ALERT] webjobs ${job} failed on ${os.hostname()}`,
    text: [
      `webjobs ${job} FAILED`,
      '',
      `Host: ${os.hostname()}`,
      `Timestamp: ${formatLocalDateTime(info.startedAt, info.timeZone)}`,
      `Attempts: ${summary.attempts}`,
      '',
      `Error: ${summary.error ?? 'unknown error'}`,
      '',
      'Please check the logs for more details.',
    ].join('\n'),
  };
}
