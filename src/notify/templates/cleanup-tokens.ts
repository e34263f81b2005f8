import type { CleanupTokensResult } from '../../jobs/cleanup-tokens/index.js';
import type { RunInfo } from '../../runner/job.js';
import { formatBytes, formatLocalDateTime } from '../../util/time.js';
import type { MailMessage } from '../mailer.js';

const DESCRIPTIONS: Record<string, string> = {
  expired_api_keys: 'Expired API Keys',
  inactive_api_keys: 'Inactive API Keys',
  expired_website_tokens: 'Expired Website Tokens',
  old_statistics: 'Old Statistics Records',
  temp_files: 'Temporary Files',
  session_tokens: 'Session Tokens',
};

/** The seed's summary after a cleanup that changed anything (none after a dry run or an idle one). */
export function cleanupTokensSuccessEmail(r: CleanupTokensResult, info: RunInfo): MailMessage | null {
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
}
