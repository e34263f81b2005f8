import fs from 'node:fs';
import { openDatabase } from '../db/connect.js';
import type { Db } from '../db/types.js';
import { parseDatabaseUrl } from '../db/url.js';

/**
 * Opens the database for reading only. A SQLite file is opened read-only (no folder or file is
 * created, no journal mode is switched: the file stays byte for byte as it was); a missing
 * file is an error rather than a new empty database. MariaDB gets SELECTs only from the
 * dashboard's code.
 */
export async function openReadOnly(url: string, busyTimeoutMs: number): Promise<Db> {
  const target = parseDatabaseUrl(url);
  if (target.kind === 'mysql') return openDatabase(url);
  if (!fs.existsSync(target.path)) throw new Error(`no SQLite database at ${target.path}`);
  const { SqliteDb } = await import('../db/sqlite.js');
  return SqliteDb.open(target.path, { readonly: true, busyTimeoutMs });
}
