import type { AnyJob } from '../runner/job.js';
import { aggregateStatsJob } from './aggregate-stats/index.js';
import { backupDbJob } from './backup-db/index.js';
import { cleanupCacheJob } from './cleanup-cache/index.js';
import { cleanupTokensJob } from './cleanup-tokens/index.js';
import { exportReportJob } from './export-report/index.js';
import { warmCacheJob } from './warm-cache/index.js';

/** Every job, by name: the scheduler, `status` and `cron print` read this list. */
export const JOBS: AnyJob[] = [
  aggregateStatsJob,
  cleanupCacheJob,
  warmCacheJob,
  backupDbJob,
  exportReportJob,
  cleanupTokensJob,
].map((j) => j as unknown as AnyJob);

export function findJob(name: string): AnyJob | undefined {
  return JOBS.find((j) => j.name === name);
}
