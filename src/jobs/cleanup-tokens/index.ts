import { defineJob, runFrom } from '../definition.js';
import { cleanupTokensSuccessEmail } from '../../notify/templates/cleanup-tokens.js';
import { resolve, type CleanupTokensOptions, type Resolved } from './resolve.js';
import type { StepReport } from './step-runner.js';

export type { CleanupTokensOptions, Resolved } from './resolve.js';

export interface CleanupTokensResult {
  dryRun: boolean;
  /** Rows and files changed (or, in a dry run, that would be). */
  totalCleaned: number;
  /** The seed's breakdown: step → count (retention rules as `retention:<name>`). */
  breakdown: Record<string, number>;
  steps: StepReport[];
  failedSteps: string[];
  thresholds: {
    inactiveDays: number;
    statisticsRetentionDays: number;
    tempHours: number;
    sessionDays: number;
    chunkSize: number;
  };
}

export const cleanupTokensJob = defineJob<CleanupTokensOptions, Resolved, CleanupTokensResult>({
  name: 'cleanup-tokens',
  description:
    'Retire expired and idle API keys, clear expired verification tokens, summarize then delete old statistics, remove old temp files, sessions and tokens, apply retention.rules',
  schedule: { cron: '0 4 * * *', args: [], purpose: 'remove expired tokens, sessions and verification codes' },
  timeoutSeconds: 3600,
  examples: [
    'webjobs cleanup-tokens --dry-run',
    'webjobs cleanup-tokens --inactive-days 60 --json',
    'webjobs cleanup-tokens --config /etc/webjobs.json',
  ],
  options: [
    {
      flags: '--inactive-days <n>',
      description: 'active API keys unused this many days become inactive (default: config cleanup.inactiveDays or 90)',
      type: 'int',
    },
    {
      flags: '--statistics-retention-days <n>',
      description: 'website_statistics kept this many days (default: config cleanup.statisticsRetentionDays or 365)',
      type: 'int',
    },
    {
      flags: '--temp-hours <n>',
      description:
        'temporary files older than this many hours are removed (default: config cleanup.tempFileHours or 24)',
      type: 'int',
    },
    {
      flags: '--session-days <n>',
      description: 'sessions idle this many days are deleted (default: config cleanup.sessionIdleDays or 30)',
      type: 'int',
    },
    {
      flags: '--chunk-size <n>',
      description: 'rows per delete transaction (default: config cleanup.chunkSize or 1000)',
      type: 'int',
    },
  ],
  resolve,
  run: runFrom(() => import('./run.js')),
  successEmail: cleanupTokensSuccessEmail,
});

export default cleanupTokensJob;
