import type { AnyJob } from '../runner/job.js';
import { backupDbJob } from './backup-db/index.js';
import { exportReportJob } from './export-report/index.js';

/** Every job, by name: the scheduler, `status` and `cron print` read this list. */
export const JOBS: AnyJob[] = [backupDbJob as unknown as AnyJob, exportReportJob as unknown as AnyJob];

export function findJob(name: string): AnyJob | undefined {
  return JOBS.find((j) => j.name === name);
}
