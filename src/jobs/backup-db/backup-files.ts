import { namesIn, removeOrphanedTemps } from '../../util/atomic-file.js';
import fs from 'node:fs';
import path from 'node:path';

export const BACKUP_TYPES = ['critical', 'full'] as const;
export type BackupType = (typeof BACKUP_TYPES)[number];

/** Only files of exactly this shape are webjobs backups; retention never touches anything else. */
const BACKUP_NAME = /^backup_(critical|full)_(\d{4}-\d{2}-\d{2})_(\d{2})-(\d{2})-(\d{2})(?:_\d+)?\.sql\.gz(\.age)?$/;

export interface BackupFile {
  file: string;
  name: string;
  type: BackupType;
  /** Local time from the name, `YYYY-MM-DD HH:MM:SS`. */
  takenAt: string;
  /** The same as a sortable stamp, `YYYY-MM-DD_HH-mm-ss`. */
  stamp: string;
  /** In the age format (`.sql.gz.age`). */
  encrypted: boolean;
  bytes: number;
  mtimeMs: number;
}

export function backupFileName(type: BackupType, stamp: string, encrypted = false): string {
  return `backup_${type}_${stamp}.sql.gz${encrypted ? '.age' : ''}`;
}

export function parseBackupName(
  name: string,
): { type: BackupType; stamp: string; takenAt: string; encrypted: boolean } | null {
  const m = BACKUP_NAME.exec(name);
  if (!m) return null;
  return {
    type: m[1] as BackupType,
    stamp: `${m[2]}_${m[3]}-${m[4]}-${m[5]}`,
    takenAt: `${m[2]} ${m[3]}:${m[4]}:${m[5]}`,
    encrypted: m[6] !== undefined,
  };
}

/** webjobs backups in `dir`, newest first (a missing folder holds none). */
export function listBackups(dir: string): BackupFile[] {
  const names = namesIn(dir);
  const out: BackupFile[] = [];
  for (const name of names) {
    const parsed = parseBackupName(name);
    if (!parsed) continue;
    const file = path.join(dir, name);
    const st = fs.lstatSync(file);
    if (!st.isFile()) continue;
    out.push({ file, name, ...parsed, bytes: st.size, mtimeMs: st.mtimeMs });
  }
  return out.sort((a, b) => (a.stamp === b.stamp ? b.name.localeCompare(a.name) : b.stamp.localeCompare(a.stamp)));
}

/** Temporary files of backups whose process died mid-write (a SIGKILL, a crash): safe to remove. */
export function removeOrphanedTempFiles(dir: string, isAlive: (pid: number) => boolean): string[] {
  return removeOrphanedTemps(
    dir,
    /^\.backup_(?:critical|full)_[\d_-]+\.sql\.gz(?:\.age)?\.\d+\.[a-z0-9]+\.tmp$/,
    isAlive,
  );
}
