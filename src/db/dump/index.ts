import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { MysqlDb } from '../mysql.js';
import type { SqliteDb } from '../sqlite.js';
import type { Db } from '../types.js';
import type { DumpRequest, DumpResult, SqlSink, TableChecksum } from './types.js';

/** One consistent snapshot of the requested tables, as SQL for the same engine, streamed into `sink`. */
export async function dumpDatabase(db: Db, sink: SqlSink, req: DumpRequest): Promise<DumpResult> {
  // Engine code is loaded on use (a MySQL run never loads the SQLite driver, and the other way round).
  if (db.dialect === 'sqlite') return (await import('./sqlite.js')).dumpSqlite((db as SqliteDb).file, sink, req);
  if (db.dialect === 'mysql') return (await import('./mysql.js')).dumpMysql(db as MysqlDb, sink, req);
  throw new Error(`backup is not supported for ${db.dialect}`);
}

export async function checksumTables(db: Db, tables: readonly string[]): Promise<TableChecksum[]> {
  if (db.dialect === 'sqlite') return (await import('./sqlite.js')).checksumSqliteTables((db as SqliteDb).file, tables);
  if (db.dialect === 'mysql') return (await import('./mysql.js')).checksumMysqlTables(db as MysqlDb, tables);
  throw new Error(`checksums are not supported for ${db.dialect}`);
}

/** Runs `fn` against an empty scratch database of the same engine, removed afterwards whatever happens. */
export async function withScratchDatabase<T>(db: Db, fn: (scratch: Db) => Promise<T>): Promise<T> {
  if (db.dialect === 'mysql') return (await import('./mysql.js')).withScratchMysqlDatabase(db as MysqlDb, fn);
  const { SqliteDb } = await import('../sqlite.js');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webjobs-verify-'));
  const scratch = SqliteDb.open(path.join(dir, 'verify.sqlite'));
  try {
    return await fn(scratch);
  } finally {
    await scratch.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Tables a full backup takes: every table (MariaDB: also system-versioned ones; SQLite: virtual tables, not their shadow tables) except webjobs' own operational state. */
export async function backupCandidateTables(db: Db): Promise<string[]> {
  const kinds = await objectKinds(db);
  return [...kinds]
    .filter(([name, kind]) => (kind === 'table' || kind === 'virtual') && !name.startsWith('webjobs_'))
    .map(([name]) => name);
}

/** What a named object is: a table a backup can take, or something else (a view, a sequence, an FTS index's shadow table…). */
export type ObjectKind = 'table' | 'virtual' | 'view' | 'sequence' | 'shadow' | 'other';

export async function objectKinds(db: Db): Promise<Map<string, ObjectKind>> {
  if (db.dialect === 'sqlite') {
    const rows = await db.query<{ name: string; type: string }>(
      "SELECT name, type FROM pragma_table_list WHERE schema = 'main' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
    );
    const kind = (t: string): ObjectKind =>
      t === 'table' || t === 'virtual' || t === 'view' || t === 'shadow' ? t : 'other';
    return new Map(rows.map((r) => [r.name, kind(r.type)]));
  }
  const rows = await db.query<{ name: string; type: string }>(
    'SELECT TABLE_NAME AS name, TABLE_TYPE AS type FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME',
  );
  const kind = (t: string): ObjectKind =>
    t === 'BASE TABLE' || t === 'SYSTEM VERSIONED'
      ? 'table'
      : t === 'VIEW'
        ? 'view'
        : t === 'SEQUENCE'
          ? 'sequence'
          : 'other';
  return new Map(rows.map((r) => [r.name, kind(r.type)]));
}
