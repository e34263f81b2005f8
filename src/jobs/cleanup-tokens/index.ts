import { defineJob, runFrom } from '../definition.js';
import { formatBytes, formatLocalDateTime } from '../../util/time.js';
import { resolve, type CleanupTokensOptions, type Resolved } from './resolve.js';
import type { StepOutcome } from './steps.js';

export type { CleanupTokensOptions, Resolved } from './resolve.js';

/** The seed's breakdown keys, in the seed's order; retention rules follow as `retention:<name>`. */
export const STEP_NAMES = [
  'expired_api_keys',
  'inactive_api_keys',
  'expired_website_tokens',
  'old_statistics',
  'temp_files',
  'session_tokens',
] as const;

export interface StepReport extends StepOutcome {
  step: string;
  status: 'ok' | 'failed';
  error?: string;
  durationMs: number;
}

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

const DESCRIPTIONS: Record<string, string> = {
  expired_api_keys: 'Expired API Keys',
  inactive_api_keys: 'Inactive API Keys',
  expired_website_tokens: 'Expired Website Tokens',
  old_statistics: 'Old Statistics Records',
  temp_files: 'Temporary Files',
  session_tokens: 'Session Tokens',
};

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
  successEmail(r, info) {
    if (r.dryRun || r.totalCleaned === 0) return null;
    const lines = [`${info.appName} Token Cleanup Summary:`, ''];
    for (const s of r.steps) {
      const label = DESCRIPTIONS[s.step] ?? `Retention rule ${s.step.slice('retention:'.length)}`;
      lines.push(`• ${label}: ${s.count}`);
    }
    const temp = r.steps.find((s) => s.step === 'temp_files');
    const bytes = temp?.details?.bytes;
    if (typeof bytes === 'number' && bytes > 0) lines.push(`  (temporary files freed ${formatBytes(bytes)})`);
    lines.push(
      '',
      `Total Items Cleaned: ${r.totalCleaned}`,
      `Timestamp: ${formatLocalDateTime(info.startedAt, info.timeZone)}`,
    );
    return { subject: `[${info.appName}] Token Cleanup Summary`, text: lines.join('\n') };
  },
});

export default cleanupTokensJob;
