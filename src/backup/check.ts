import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { FOOTER_PREFIX } from '../db/dump/format.js';
import { listBackups } from '../jobs/backup-db/backup-files.js';
import { decryptingStep } from './encrypt.js';
import { readLocalManifest, type BackupManifest } from './manifest.js';

/**
 * Re-reads stored backups and compares them with their manifests: every byte through SHA-256
 * and a full gunzip (each member's CRC and length), the size, the SQL length, and the completion
 * footer. A store is anything that lists backups and streams one back: the local folder here;
 * a remote (S3, SFTP) implements the same three methods (src/backup/remotes/store.ts).
 */

export interface StoredBackup {
  name: string;
  type: string;
  /** Local time from the name, `YYYY-MM-DD HH:MM:SS`. */
  takenAt: string;
  bytes: number;
}

export interface BackupStore {
  /** Where the backups are, for messages (a folder, or a remote URL with its credentials masked). */
  readonly label: string;
  /** webjobs backups, newest first. */
  list(): Promise<StoredBackup[]>;
  read(name: string): Readable;
  /** null when the backup has no manifest; throws when there is one that cannot be read. */
  readManifest(name: string): Promise<BackupManifest | null>;
}

export class LocalBackupStore implements BackupStore {
  constructor(readonly label: string) {}
  async list(): Promise<StoredBackup[]> {
    return listBackups(this.label).map((b) => ({ name: b.name, type: b.type, takenAt: b.takenAt, bytes: b.bytes }));
  }
  read(name: string): Readable {
    return fs.createReadStream(`${this.label}/${name}`);
  }
  async readManifest(name: string): Promise<BackupManifest | null> {
    const m = readLocalManifest(`${this.label}/${name}`);
    if (m instanceof Error) throw m;
    return m;
  }
}

export interface CheckResult {
  store: string;
  name: string;
  type: string;
  ok: boolean;
  /** What is wrong with the file (empty when ok). */
  damage: string[];
  /** What could not be checked (no manifest: gzip and footer only). */
  notes: string[];
  bytes: number;
  sha256: string;
}

export interface CheckOptions {
  /** age secret keys: an encrypted backup is then decrypted and gunzipped too, not only hashed. */
  identities?: readonly string[];
}

/**
 * Streams one stored backup once and compares what it finds with the manifest. An encrypted
 * one (`.sql.gz.age`) is compared by size and SHA-256 of its encrypted bytes (what the manifest
 * records); with an identity it is also decrypted (each chunk authenticated) and gunzipped.
 */
export async function checkStoredBackup(
  store: BackupStore,
  backup: StoredBackup,
  options: CheckOptions = {},
): Promise<CheckResult> {
  const damage: string[] = [];
  const notes: string[] = [];
  let manifest: BackupManifest | null = null;
  try {
    manifest = await store.readManifest(backup.name);
    if (!manifest) notes.push('no manifest: checked as gzip with a completion footer only');
  } catch (err) {
    damage.push(`manifest unreadable: ${(err as Error).message}`);
  }
  const hash = createHash('sha256');
  let bytes = 0;
  let sqlBytes = 0;
  let tail = Buffer.alloc(0);
  const counter = async function* (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) {
      hash.update(chunk);
      bytes += chunk.length;
      yield chunk;
    }
  };
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      sqlBytes += chunk.length;
      tail = Buffer.concat([tail, chunk]).subarray(-4096);
      done();
    },
  });
  const encrypted = backup.name.endsWith('.age');
  const readsSql = !encrypted || Boolean(options.identities?.length);
  if (!readsSql) notes.push('encrypted: size and SHA-256 checked; give an identity to decrypt and gunzip it too');
  try {
    if (!readsSql) await pipeline(store.read(backup.name), counter, sink);
    else if (encrypted)
      await pipeline(store.read(backup.name), counter, decryptingStep(options.identities ?? []), createGunzip(), sink);
    else await pipeline(store.read(backup.name), counter, createGunzip(), sink);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    damage.push(
      code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR'
        ? `not valid gzip: ${(err as Error).message}`
        : `cannot be ${encrypted ? 'read or decrypted' : 'read'}: ${(err as Error).message}`,
    );
  }
  const sha256 = hash.digest('hex');
  if (!damage.length && readsSql) {
    const lastLine = tail.toString('utf8').trimEnd().split('\n').at(-1) ?? '';
    if (!lastLine.startsWith(`-- ${FOOTER_PREFIX}`)) damage.push('no completion footer (truncated?)');
  }
  if (manifest) {
    if (manifest.bytes !== bytes) damage.push(`size ${bytes} bytes, the manifest says ${manifest.bytes}`);
    if (manifest.sha256 !== sha256) damage.push(`SHA-256 ${sha256} differs from the manifest's ${manifest.sha256}`);
    if (!damage.length && readsSql && manifest.sqlBytes !== sqlBytes)
      damage.push(`${sqlBytes} bytes of SQL, the manifest says ${manifest.sqlBytes}`);
  }
  return { store: store.label, name: backup.name, type: backup.type, ok: !damage.length, damage, notes, bytes, sha256 };
}

/** The backups to check: every one, or the newest of each type. */
export function chooseForCheck(backups: readonly StoredBackup[], all: boolean): StoredBackup[] {
  if (all) return [...backups];
  const seen = new Set<string>();
  return backups.filter((b) => (seen.has(b.type) ? false : (seen.add(b.type), true)));
}
