import type { AnyJob } from '../runner/job.js';
import { aggregateStatsJob } from './aggregate-stats/index.js';
import { backupDbJob } from './backup-db/index.js';
import { cleanupCacheJob } from './cleanup-cache/index.js';

/** Every job, by name: the scheduler, `status` and `cron print` read this list. */
export const JOBS: AnyJob[] = [aggregateStatsJob as unknown as AnyJob, cleanupCacheJob as unknown as AnyJob, backupDbJob as unknown as AnyJob];

export function findJob(name: string): AnyJob | undefined {
  return JOBS.find((j) => j.name === name);
}
