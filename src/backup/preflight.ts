import fs from 'node:fs';
import path from 'node:path';
import { formatBytes } from '../util/time.js';

/**
 * Disk-space preflight: before a byte is written, the backup's size is estimated and the target
 * folder's free space (statfs: blocks available to this user) must hold it plus a margin. A full
 * disk mid-backup fails anyway, but only after filling the disk the database and the other
 * backups live on.
 */

/** A backup of the same type grows from one run to the next: the previous size plus this share. */
const GROWTH = 0.25;
/** Without a previous backup: SQL text gzipped is rarely more than half the tables' data length. */
const FROM_DATA_LENGTH = 0.5;

export interface SizeEstimate {
  bytes: number;
  /** How it was reached, for the message. */
  basis: string;
}

export function estimateBackupBytes(previousBytes: number | null, tablesDataBytes: number | null): SizeEstimate {
  if (previousBytes !== null)
    return {
      bytes: Math.ceil(previousBytes * (1 + GROWTH)),
      basis: `the previous backup's ${formatBytes(previousBytes)} + 25 %`,
    };
  if (tablesDataBytes !== null)
    return {
      bytes: Math.ceil(tablesDataBytes * FROM_DATA_LENGTH),
      basis: `half the tables' ${formatBytes(tablesDataBytes)} of data`,
    };
  return { bytes: 0, basis: 'no previous backup and no table sizes' };
}

/** Bytes this process may still write on the filesystem holding `dir` (its nearest existing ancestor when it does not exist yet). */
export function freeBytes(dir: string): number {
  let at = path.resolve(dir);
  while (!fs.existsSync(at) && path.dirname(at) !== at) at = path.dirname(at);
  const s = fs.statfsSync(at);
  return s.bavail * s.bsize;
}

/** The one line a refused backup reports, or null when there is room. */
export function spaceShortfall(dir: string, estimate: SizeEstimate, marginBytes: number): string | null {
  const free = freeBytes(dir);
  if (free >= estimate.bytes + marginBytes) return null;
  return `not enough free space in ${dir}: ${formatBytes(free)} free, the backup needs about ${formatBytes(estimate.bytes)} (${estimate.basis}) plus a ${formatBytes(marginBytes)} margin (config backup.freeSpaceMarginBytes); nothing written`;
}
