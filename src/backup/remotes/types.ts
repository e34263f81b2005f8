import type { Readable } from 'node:stream';
import { parseBackupName } from '../../jobs/backup-db/backup-files.js';
import type { Digest } from '../sha256.js';

const MANIFEST_SUFFIX = '.manifest.json';

/** A backup's name, or its manifest's (`NAME.manifest.json`): the only files a remote writes or removes. */
export function isWebjobsFileName(name: string): boolean {
  const backup = name.endsWith(MANIFEST_SUFFIX) ? name.slice(0, -MANIFEST_SUFFIX.length) : name;
  return parseBackupName(backup) !== null;
}

/** A copy of a backup on a remote, by its file name (the remote's folder or prefix left out). */
export interface RemoteFile {
  name: string;
  bytes: number;
}

/**
 * An off-site place for backups. Every remote touches only names of the webjobs backup shape
 * (backup_{type}_{stamp}.sql.gz[.age], and its `.manifest.json`): `list` shows backups only and `remove` refuses others,
 * so a shared bucket or folder is safe for retention to sweep.
 */
export interface BackupRemote {
  /** The URL, credentials never in it: fit for logs, JSON, history and mail. */
  readonly label: string;
  /** Copies `localFile` to `name`; the final name appears only once the copy is whole. */
  upload(localFile: string, name: string): Promise<void>;
  /** The stored copy's bytes as they download (null when there is no such file). */
  open(name: string): Promise<Readable | null>;
  /** Reads the stored copy back: its size and SHA-256 (null when there is no such file). */
  digest(name: string): Promise<Digest | null>;
  list(): Promise<RemoteFile[]>;
  remove(name: string): Promise<void>;
  close(): Promise<void>;
}
