import path from 'node:path';
import type { JobContext } from '../../runner/job.js';
import { PartialFailure } from '../../util/errors.js';
import { formatLocalDateTime } from '../../util/time.js';
import {
  applyRetentionRule,
  deactivateIdleApiKeys,
  expireApiKeys,
  expireWebsiteTokens,
  localDaysAgo,
  purgeSessionsAndTokens,
  summarizeAndPurgeStatistics,
} from './steps.js';
import { cleanTempDirs } from './temp-files.js';
import type { CleanupTokensResult, Resolved } from './index.js';
import { stepRunner, type StepReport } from './step-runner.js';

const VERB: Record<string, [string, string]> = {
  expired_api_keys: ['marked expired', 'would be marked expired'],
  inactive_api_keys: ['marked inactive', 'would be marked inactive'],
  expired_website_tokens: ['verification tokens cleared', 'verification tokens would be cleared'],
  old_statistics: ['detail rows summarized and deleted', 'detail rows would be summarized and deleted'],
  temp_files: ['files removed', 'files would be removed'],
  session_tokens: ['sessions and tokens deleted', 'sessions and tokens would be deleted'],
};

function stepLine(r: StepReport, dryRun: boolean): string {
  const [done, would] =
    VERB[r.step] ??
    (r.step.startsWith('retention:') ? ['rows changed', 'rows would be changed'] : ['changed', 'would change']);
  if (r.status === 'failed') return `${r.step}: FAILED: ${r.error ?? 'unknown error'}`;
  const samples = dryRun && r.sampleIds.length ? ` (e.g. ${r.sampleIds.map(String).join(', ')})` : '';
  const notes = r.notes.length ? `; ${r.notes.join('; ')}` : '';
  return `${r.step}: ${r.count} ${dryRun ? would : done}${samples}${notes}`;
}

export async function run(ctx: JobContext, resolved: Resolved): Promise<CleanupTokensResult> {
  const nowDate = ctx.clock.now();
  const nowMs = nowDate.getTime();
  const now = formatLocalDateTime(nowDate, ctx.timeZone);
  const steps: StepReport[] = [];

  const step = stepRunner(ctx, steps);

  await step('expired_api_keys', () => expireApiKeys(ctx, now));
  await step('inactive_api_keys', () =>
    deactivateIdleApiKeys(ctx, now, localDaysAgo(nowDate, resolved.inactiveDays, ctx.timeZone), resolved.inactiveDays),
  );
  await step('expired_website_tokens', () => expireWebsiteTokens(ctx, now));
  await step('old_statistics', () =>
    summarizeAndPurgeStatistics(
      ctx,
      localDaysAgo(nowDate, resolved.statisticsRetentionDays, ctx.timeZone),
      resolved.chunkSize,
      resolved.statisticsPaths,
    ),
  );
  await step('temp_files', async () => {
    const dirs = resolved.tempDirs.map((d) => path.resolve(ctx.config.baseDir, d));
    const cutoffMs = nowMs - resolved.tempHours * 3_600_000;
    const res = await cleanTempDirs(dirs, cutoffMs, {
      dryRun: ctx.dryRun,
      signal: ctx.signal,
      onRemoveError: (file, err) => ctx.warn(`could not remove ${file}: ${err.message}`),
    });
    const notes = res.dirs
      .filter((d) => d.state !== 'cleaned')
      .map((d) => `${d.dir} ${d.state === 'missing' ? 'does not exist' : 'is not a folder'}, skipped`);
    return {
      count: res.files,
      sampleIds: res.samples,
      notes,
      details: { bytes: res.bytes, olderThan: formatLocalDateTime(new Date(cutoffMs), ctx.timeZone), dirs: res.dirs },
    };
  });
  await step('session_tokens', () => purgeSessionsAndTokens(ctx, nowMs, now, resolved));
  for (const rule of resolved.rules)
    await step(`retention:${rule.name}`, () => applyRetentionRule(ctx, rule, nowMs, resolved));

  const breakdown = Object.fromEntries(steps.map((s) => [s.step, s.count]));
  const failedSteps = steps.filter((s) => s.status === 'failed').map((s) => s.step);
  const result: CleanupTokensResult = {
    dryRun: ctx.dryRun,
    totalCleaned: steps.reduce((sum, s) => sum + s.count, 0),
    breakdown,
    steps,
    failedSteps,
    thresholds: {
      inactiveDays: resolved.inactiveDays,
      statisticsRetentionDays: resolved.statisticsRetentionDays,
      tempHours: resolved.tempHours,
      sessionDays: resolved.sessionDays,
      chunkSize: resolved.chunkSize,
    },
  };

  ctx.logger.finish();
  // One line per step: always in a dry run (that is its report), otherwise when anything changed or failed.
  if (ctx.dryRun || result.totalCleaned > 0 || failedSteps.length) {
    for (const s of steps)
      (s.status === 'failed' ? ctx.logger.error : ctx.logger.info).call(ctx.logger, stepLine(s, ctx.dryRun));
  }
  ctx.logger.info(`${ctx.dryRun ? 'would clean' : 'cleaned'} ${result.totalCleaned} item(s) in total`);
  if (failedSteps.length) {
    const reasons = steps.filter((s) => s.status === 'failed').map((s) => `${s.step} (${s.error ?? 'unknown error'})`);
    throw new PartialFailure(
      `${failedSteps.length} of ${steps.length} cleanup step(s) failed: ${reasons.join('; ')}`,
      result,
    );
  }
  return result;
}
