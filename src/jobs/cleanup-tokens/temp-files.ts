import fs from 'node:fs';
import path from 'node:path';
import { throwIfAborted } from '../../util/errors.js';

interface TempDirReport {
  dir: string;
  /** missing: the folder does not exist (skipped); not-a-folder: the path is something else (skipped). */
  state: 'cleaned' | 'missing' | 'not-a-folder';
  files: number;
  bytes: number;
  /** Entries left alone because they are not regular files (symlinks, folders, sockets…). */
  skippedEntries: number;
}

interface TempCleanupResult {
  files: number;
  bytes: number;
  dirs: TempDirReport[];
  samples: string[];
}

/**
 * Removes regular files older than `cutoffMs` (modification time) directly inside each folder.
 * Every entry is looked at with lstat, so a symlink is never followed (and never removed: it is
 * not a regular file); sub-folders and the folder itself are never touched. A missing folder is
 * skipped. With `dryRun` nothing is removed, only counted. The folder is read as a stream, so a
 * folder of millions of files is not listed into memory.
 */
export async function cleanTempDirs(
  dirs: readonly string[],
  cutoffMs: number,
  opts: { dryRun: boolean; signal?: AbortSignal; onRemoveError?: (file: string, err: Error) => void },
): Promise<TempCleanupResult> {
  const result: TempCleanupResult = { files: 0, bytes: 0, dirs: [], samples: [] };
  for (const dir of dirs) {
    const report: TempDirReport = { dir, state: 'cleaned', files: 0, bytes: 0, skippedEntries: 0 };
    result.dirs.push(report);
    let st: fs.Stats;
    try {
      // The configured folder itself may be reached through a symlink (deployments often link
      // storage/ to a shared folder): that one link is the operator's choice and is followed.
      st = fs.statSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        report.state = 'missing';
        continue;
      }
      throw err;
    }
    if (!st.isDirectory()) {
      report.state = 'not-a-folder';
      continue;
    }
    const handle = await fs.promises.opendir(dir);
    for await (const entry of handle) {
      throwIfAborted(opts.signal);
      const file = path.join(dir, entry.name);
      let info: fs.Stats;
      try {
        info = fs.lstatSync(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed meanwhile
        throw err;
      }
      if (!info.isFile()) {
        report.skippedEntries++;
        continue;
      }
      if (info.mtimeMs >= cutoffMs) continue;
      if (!opts.dryRun) {
        try {
          // unlink never follows a symlink: had the file been swapped for one since lstat, only the link goes.
          fs.unlinkSync(file);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
          opts.onRemoveError?.(file, err as Error);
          continue;
        }
      }
      report.files++;
      report.bytes += info.size;
      if (result.samples.length < 5) result.samples.push(file);
    }
    result.files += report.files;
    result.bytes += report.bytes;
  }
  return result;
}
