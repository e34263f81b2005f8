/**
 * What `webjobs backups` warns about beyond staleness: a type with no backup at all, and a
 * newest backup much smaller than the one before it (the classic sign of a silently empty dump).
 */

export interface SizedBackup {
  name: string;
  type: string;
  bytes: number;
}

/** `backups` newest first; `shrinkPercent`: warn when the newest is more than this much smaller than the previous. */
export function backupWarnings(
  backups: readonly SizedBackup[],
  types: readonly string[],
  shrinkPercent: number,
): string[] {
  const warnings: string[] = [];
  for (const type of types) {
    const [newest, previous] = backups.filter((b) => b.type === type);
    if (!newest) {
      warnings.push(`no ${type} backup`);
      continue;
    }
    if (previous && previous.bytes > 0 && newest.bytes < previous.bytes * (1 - shrinkPercent / 100)) {
      const drop = Math.round((1 - newest.bytes / previous.bytes) * 100);
      warnings.push(
        `newest ${type} backup ${newest.name} is ${drop} % smaller than the previous one (${newest.bytes} bytes, was ${previous.bytes}): check that the database is not empty`,
      );
    }
  }
  return warnings;
}
