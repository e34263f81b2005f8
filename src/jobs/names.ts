/** The jobs' command names, without loading the jobs (the CLI adds --force to these). src/jobs/index.ts lists the jobs themselves in this order. */
export const JOB_NAMES: string[] = [
  'aggregate-stats',
  'cleanup-cache',
  'warm-cache',
  'backup-db',
  'export-report',
  'cleanup-tokens',
];
