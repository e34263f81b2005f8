import type { Digest } from '../sha256.js';

/** A copy of a backup on a remote, by its file name (the remote's folder or prefix left out). */
export interface RemoteFile {
  name: string;
  bytes: number;
}

/**
 * An off-site place for backups. Every remote touches only names of the webjobs backup shape
 * (backup_{type}_{stamp}.sql.gz[.age]): `list` shows no other file and `remove` refuses others,
 * so a shared bucket or folder is safe for retention to sweep.
 */
export interface BackupRemote {
  /** The URL, credentials never in it: fit for logs, JSON, history and mail. */
  readonly label: string;
  /** Copies `localFile` to `name`; the final name appears only once the copy is whole. */
  upload(localFile: string, name: string): Promise<void>;
  /** Reads the stored copy back: its size and SHA-256 (null when there is no such file). */
  digest(name: string): Promise<Digest | null>;
  list(): Promise<RemoteFile[]>;
  remove(name: string): Promise<void>;
  close(): Promise<void>;
}
