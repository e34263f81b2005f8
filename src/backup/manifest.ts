import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-file.js';
import type { DumpResult, SnapshotPosition } from '../db/dump/types.js';

/**
 * `FILE.manifest.json` beside every backup: what the file holds and the facts to re-check it by
 * (size and SHA-256 of the bytes as written). Written atomically, mode 0600, after the backup
 * itself is under its final name; retention deletes it with its backup.
 */

export const MANIFEST_FORMAT = 'webjobs-backup-manifest/1';

export interface BackupManifest {
  format: typeof MANIFEST_FORMAT;
  /** The backup's file name (no folder: the pair may move together). */
  file: string;
  type: string;
  tool: { name: 'webjobs'; version: string };
  engine: string;
  serverVersion: string;
  /** Local time of the snapshot (as in the file's name) and the same instant in UTC. */
  createdAt: string;
  createdAtUtc: string;
  /** Per table: rows, and the content checksum when the run computed one (--verify), else null. */
  tables: { name: string; rows: number; checksum: string | null }[];
  views: string[];
  triggers: string[];
  routines: string[];
  events: string[];
  sequences: string[];
  snapshot: SnapshotPosition | null;
  /** Uncompressed SQL bytes, and the file's own size and SHA-256 as written. */
  sqlBytes: number;
  bytes: number;
  sha256: string;
}

export const manifestNameOf = (backupName: string) => `${backupName}.manifest.json`;

export function writeManifest(backupPath: string, manifest: BackupManifest): string {
  return writeFileAtomic(
    path.dirname(backupPath),
    manifestNameOf(path.basename(backupPath)),
    JSON.stringify(manifest, null, 2) + '\n',
  );
}

/** The manifest beside a local backup: null when there is none; an Error when it is unreadable. */
export function readLocalManifest(backupPath: string): BackupManifest | null | Error {
  let text: string;
  try {
    text = fs.readFileSync(`${backupPath}.manifest.json`, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return err as Error;
  }
  return parseManifest(text);
}

/** A manifest's text (read from a folder or a remote) checked as one: an Error when it is not. */
export function parseManifest(text: string): BackupManifest | Error {
  try {
    const m = JSON.parse(text) as BackupManifest;
    if (m.format !== MANIFEST_FORMAT || typeof m.sha256 !== 'string' || typeof m.bytes !== 'number')
      return new Error('not a webjobs manifest');
    return m;
  } catch (err) {
    return new Error(`not JSON (${(err as Error).message})`);
  }
}

export interface ManifestInput {
  backupPath: string;
  type: string;
  version: string;
  engine: string;
  createdAt: string;
  createdAtUtc: string;
  dumped: DumpResult;
  sqlBytes: number;
  bytes: number;
  sha256: string;
}

export function buildManifest(i: ManifestInput): BackupManifest {
  return {
    format: MANIFEST_FORMAT,
    file: path.basename(i.backupPath),
    type: i.type,
    tool: { name: 'webjobs', version: i.version },
    engine: i.engine,
    serverVersion: i.dumped.serverVersion,
    createdAt: i.createdAt,
    createdAtUtc: i.createdAtUtc,
    tables: i.dumped.tables.map((t) => ({ name: t.name, rows: t.rows, checksum: t.checksum || null })),
    views: i.dumped.views,
    triggers: i.dumped.triggers,
    routines: i.dumped.routines,
    events: i.dumped.events,
    sequences: i.dumped.sequences,
    snapshot: i.dumped.snapshot,
    sqlBytes: i.sqlBytes,
    bytes: i.bytes,
    sha256: i.sha256,
  };
}
