import { BACKUP_TYPES } from '../jobs/backup-db/backup-files.js';
import { formatBytes, formatLocalDateTime } from '../util/time.js';
import type { DashboardData } from './data.js';

/** A backup this much smaller than the one before it is worth a look (a table emptied, a dump cut short). */
export const SIZE_DROP_RATIO = 0.5;

/** Stale jobs (as `webjobs status` judges them), stale backups (as `webjobs backups` does), sudden size drops. */
export function findWarnings(data: Omit<DashboardData, 'warnings'>, now: Date): string[] {
  const out: string[] = [];
  for (const j of data.jobs) if (j.stale) out.push(`${j.job} is stale: ${j.stale}`);
  out.push(...staleBackups(data, now));
  out.push(...sizeDrops(data));
  return out;
}

function staleBackups(data: Omit<DashboardData, 'warnings'>, now: Date): string[] {
  const { files, maxAgeHours, dir } = data.backups;
  const backupScheduled = data.jobs.some((j) => j.job === 'backup-db' && j.schedule);
  if (!files.length) return backupScheduled ? [`no backup files in ${dir}`] : [];
  // Ages from the names' local times, compared in the same zone, as `webjobs backups` does.
  const nowLocal = Date.parse(formatLocalDateTime(now, data.timeZone).replace(' ', 'T') + 'Z');
  const out: string[] = [];
  for (const type of BACKUP_TYPES) {
    const newest = files.find((f) => f.type === type);
    if (!newest) continue;
    const ageHours = (nowLocal - Date.parse(newest.takenAt.replace(' ', 'T') + 'Z')) / 3_600_000;
    if (ageHours > maxAgeHours)
      out.push(
        `newest ${type} backup is ${Math.round(ageHours * 10) / 10} h old (taken ${newest.takenAt}; limit ${maxAgeHours} h)`,
      );
  }
  return out;
}

/** The latest day's backup of each type against the one before it. */
function sizeDrops(data: Omit<DashboardData, 'warnings'>): string[] {
  const out: string[] = [];
  const types = [...new Set(data.backups.days.map((d) => d.type))];
  for (const type of types) {
    const days = data.backups.days.filter((d) => d.type === type && d.maxBytes !== null && d.maxBytes > 0);
    const last = days.at(-1);
    const before = days.at(-2);
    if (!last || !before) continue;
    if (last.maxBytes! < before.maxBytes! * SIZE_DROP_RATIO)
      out.push(
        `${type} backup shrank from ${formatBytes(before.maxBytes!)} (${before.day}) to ${formatBytes(last.maxBytes!)} (${last.day})`,
      );
  }
  return out;
}
