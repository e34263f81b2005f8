import { tableSizeBytes } from '../../db/dialect.js';
import type { Db } from '../../db/types.js';
import type { JobContext } from '../../runner/job.js';
import { estimateBackupBytes, spaceShortfall } from '../../backup/preflight.js';
import { listBackups, type BackupType } from './backup-files.js';

/** Refuses the run (exit 1, nothing written) when the folder cannot hold the backup plus the margin. */
export async function checkFreeSpace(
  ctx: JobContext,
  dir: string,
  type: BackupType,
  tables: string[],
  marginBytes: number,
): Promise<void> {
  const previous = listBackups(dir).find((b) => b.type === type);
  const dataBytes = previous ? null : await dataLength(ctx.db, tables);
  const shortfall = spaceShortfall(dir, estimateBackupBytes(previous?.bytes ?? null, dataBytes), marginBytes);
  if (shortfall) throw new Error(shortfall);
}

/**
 * The tables' data length, for a first backup's estimate. SQLite: the file's pages in use, an
 * upper bound read from the header (dbstat would read every page of the tables: 16 MB more
 * memory and a second pass over a 1M-row table before the dump starts).
 */
async function dataLength(db: Db, tables: string[]): Promise<number | null> {
  if (db.dialect === 'sqlite') {
    const pages = await db.queryOne<{ n: number }>(
      'SELECT (SELECT page_count FROM pragma_page_count()) - (SELECT freelist_count FROM pragma_freelist_count()) AS n',
    );
    const size = await db.queryOne<{ n: number }>('SELECT page_size AS n FROM pragma_page_size()');
    return pages && size ? Number(pages.n) * Number(size.n) : null;
  }
  let total: number | null = null;
  for (const t of tables) {
    const n = await tableSizeBytes(db, t);
    if (n !== null) total = (total ?? 0) + Number(n);
  }
  return total;
}
