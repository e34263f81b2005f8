import { PassThrough, pipeline, type Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { parseBackupName } from '../../jobs/backup-db/backup-files.js';
import type { BackupStore, StoredBackup } from '../check.js';
import { manifestNameOf, parseManifest, type BackupManifest } from '../manifest.js';
import type { BackupRemote } from './types.js';

/**
 * A remote seen as a store `backups --check` re-reads: its webjobs backups (newest first), each
 * streamed back as it downloads, and the manifest uploaded beside it.
 */
export class RemoteBackupStore implements BackupStore {
  constructor(private readonly remote: BackupRemote) {}

  get label(): string {
    return this.remote.label;
  }

  async list(): Promise<StoredBackup[]> {
    const out: StoredBackup[] = [];
    for (const f of await this.remote.list()) {
      const parsed = parseBackupName(f.name);
      if (parsed) out.push({ name: f.name, type: parsed.type, takenAt: parsed.takenAt, bytes: f.bytes });
    }
    return out.sort((a, b) =>
      a.takenAt === b.takenAt ? b.name.localeCompare(a.name) : b.takenAt.localeCompare(a.takenAt),
    );
  }

  /** The download starts at once; a missing copy or a broken connection fails the stream. */
  read(name: string): Readable {
    const out = new PassThrough();
    this.remote.open(name).then(
      (source) =>
        source
          ? pipeline(source, out, (err) => err && out.destroy(err))
          : out.destroy(new Error(`${name} is missing on ${this.label}`)),
      (err: Error) => out.destroy(err),
    );
    return out;
  }

  async readManifest(name: string): Promise<BackupManifest | null> {
    const source = await this.remote.open(manifestNameOf(name));
    if (!source) return null;
    const m = parseManifest(await text(source));
    if (m instanceof Error) throw m;
    return m;
  }
}
