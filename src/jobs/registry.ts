import type { AnyJob } from './definition.js';

/** A job by name, and how to load its module (only when it is needed: a cron run loads one job). */
export interface JobEntry {
  name: string;
  load: () => Promise<{ default: AnyJob }>;
}

/**
 * Every job, in the order `--help` lists them. The one place a job is registered: the CLI's job
 * commands, the default schedule, `cron print`, `status`, `doctor` and `schedule` all read it.
 * Adding a job: `src/jobs/<name>/index.ts` default-exports `defineJob({ name, description,
 * schedule, options, resolve, run })` (its run in `./run.ts`, loaded through `runFrom`), and one
 * line here; test/cli/registry.test.ts fails if it is registered anywhere else.
 */
export const JOB_REGISTRY: JobEntry[] = [
  { name: 'aggregate-stats', load: () => import('./aggregate-stats/index.js') },
  { name: 'cleanup-cache', load: () => import('./cleanup-cache/index.js') },
  { name: 'warm-cache', load: () => import('./warm-cache/index.js') },
  { name: 'backup-db', load: () => import('./backup-db/index.js') },
  { name: 'export-report', load: () => import('./export-report/index.js') },
  { name: 'cleanup-tokens', load: () => import('./cleanup-tokens/index.js') },
];

export function jobNames(): string[] {
  return JOB_REGISTRY.map((e) => e.name);
}

export function isJobName(name: string): boolean {
  return JOB_REGISTRY.some((e) => e.name === name);
}

/** The job named, loaded; undefined when no job has that name. */
export async function loadJob(name: string): Promise<AnyJob | undefined> {
  const entry = JOB_REGISTRY.find((e) => e.name === name);
  return entry ? (await entry.load()).default : undefined;
}

/** Every job, loaded, in registry order. */
export async function loadJobs(): Promise<AnyJob[]> {
  return Promise.all(JOB_REGISTRY.map(async (e) => (await e.load()).default));
}
