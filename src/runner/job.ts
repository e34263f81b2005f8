import type { Config } from '../config/config.js';
import type { Settings } from '../config/settings.js';
import type { TableMap } from '../config/tables.js';
import type { Db } from '../db/types.js';
import type { Logger } from '../log/logger.js';
import type { MailMessage, Mailer } from '../notify/mailer.js';
import type { Clock, Sleep } from '../util/clock.js';

/** Everything a job may touch, injected: tests pass a fixed clock and a real database. */
export interface JobContext {
  readonly job: string;
  readonly runId: string;
  readonly db: Db;
  readonly config: Config;
  readonly tables: TableMap;
  readonly settings: Settings;
  readonly clock: Clock;
  readonly sleep: Sleep;
  readonly logger: Logger;
  readonly mailer: Mailer;
  readonly dryRun: boolean;
  /** Fires on SIGTERM/SIGINT or when the job's time budget is spent: stop at the next safe point. */
  readonly signal: AbortSignal;
  readonly timeZone: string;
  /** Collects a warning for the summary (and logs it). */
  warn(message: string): void;
}

export interface RunInfo {
  job: string;
  runId: string;
  startedAt: Date;
  durationMs: number;
  timeZone: string;
  /** config `app.name`: the name admins know the app by, in mail subjects. */
  appName: string;
  options: Record<string, unknown>;
}

/** A job is data plus one function. */
export interface JobDefinition<O extends object = Record<string, unknown>, R = unknown> {
  name: string;
  description: string;
  /** The run is cut off (and fails) after this many seconds; config `jobs.<name>.timeoutSeconds` overrides. */
  timeoutSeconds: number;
  /** Settings (the `settings` table) the job reads: checked before anything is written; a malformed one is exit 2. */
  settingKeys?: readonly string[];
  /** Rejects bad config or options before anything connects or logs (throw UsageError: exit 2, one line). */
  checkConfig?(config: Config, options: O): void;
  run(ctx: JobContext, options: O): Promise<R>;
  /** The message admins get after a success (none when absent). */
  successEmail?(result: R, info: RunInfo): MailMessage | null;
  /** The message admins get after a failure (a generic one when absent). */
  failureEmail?(error: string, info: RunInfo): MailMessage | null;
}

export type AnyJob = JobDefinition<never, unknown>;
