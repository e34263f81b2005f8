import type { Config } from '../config/config.js';
import type { Settings } from '../config/settings.js';
import type { TableMap } from '../config/tables.js';
import type { Db } from '../db/types.js';
import type { Logger } from '../log/logger.js';
import type { Mailer } from '../notify/mailer.js';
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

/** A job's definition lives with the jobs (src/jobs/definition.ts); the runner reads it from here. */
export type { AnyJob, JobDefinition } from '../jobs/definition.js';
