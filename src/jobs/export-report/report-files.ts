import fs from 'node:fs';
import path from 'node:path';
import { namesIn, removeOrphanedTemps } from '../../util/atomic-file.js';
import type { ReportPeriod } from './period.js';

export const REPORT_FORMATS = ['csv', 'json'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** Only files of exactly this shape are webjobs reports; retention never touches anything else. */
const REPORT_NAME =
  /^user_activity_report_(daily|weekly|monthly)_(\d{4}-\d{2}-\d{2})_to_(\d{4}-\d{2}-\d{2})\.(csv|json)$/;
const REPORT_TEMP =
  /^\.user_activity_report_(?:daily|weekly|monthly)_[\d-]+_to_[\d-]+\.(?:csv|json)\.\d+\.[a-z0-9]+\.tmp$/;

export function reportFileName(p: ReportPeriod, format: ReportFormat): string {
  return `user_activity_report_${p.period}_${p.from}_to_${p.to}.${format}`;
}

/**
 * Deletes webjobs report files in `dir` last written more than `retentionDays` ago (by
 * `nowMs`), never `keep` and never any file whose name is not a report's. Returns the names
 * deleted.
 */
export function applyReportRetention(dir: string, retentionDays: number, nowMs: number, keep: string | null): string[] {
  const names = namesIn(dir);
  const cutoff = nowMs - retentionDays * 86_400_000;
  const deleted: string[] = [];
  for (const name of names.sort()) {
    if (!REPORT_NAME.test(name)) continue;
    const file = path.join(dir, name);
    if (file === keep) continue;
    const st = fs.lstatSync(file);
    if (!st.isFile() || st.mtimeMs >= cutoff) continue;
    fs.unlinkSync(file);
    deleted.push(name);
  }
  return deleted;
}

/** Temporary files of reports whose process died mid-write: safe to remove. */
export function removeOrphanedReportTemps(dir: string, isAlive: (pid: number) => boolean): string[] {
  return removeOrphanedTemps(dir, REPORT_TEMP, isAlive);
}
