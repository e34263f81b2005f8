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

/** Tables a full backup takes: every base table except webjobs' own operational state. */
export async function backupCandidateTables(db: Db): Promise<string[]> {
  return (await db.listTables()).filter((t) => !t.startsWith('webjobs_'));
}
