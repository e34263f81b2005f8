import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MysqlDb } from '../mysql.js';
import { SqliteDb } from '../sqlite.js';
import type { Db } from '../types.js';
import { checksumMysqlTables, dumpMysql, withScratchMysqlDatabase } from './mysql.js';
import { checksumSqliteTables, dumpSqlite } from './sqlite.js';
import type { DumpRequest, DumpResult, SqlSink, TableChecksum } from './types.js';

/** One consistent snapshot of the requested tables, as SQL for the same engine, streamed into `sink`. */
export async function dumpDatabase(db: Db, sink: SqlSink, req: DumpRequest): Promise<DumpResult> {
  if (db instanceof SqliteDb) return dumpSqlite(db.file, sink, req);
  if (db instanceof MysqlDb) return dumpMysql(db, sink, req);
  throw new Error(`backup is not supported for ${db.dialect}`);
}

export async function checksumTables(db: Db, tables: readonly string[]): Promise<TableChecksum[]> {
  if (db instanceof SqliteDb) return checksumSqliteTables(db.file, tables);
  if (db instanceof MysqlDb) return checksumMysqlTables(db, tables);
  throw new Error(`checksums are not supported for ${db.dialect}`);
}

/** Runs `fn` against an empty scratch database of the same engine, removed afterwards whatever happens. */
export async function withScratchDatabase<T>(db: Db, fn: (scratch: Db) => Promise<T>): Promise<T> {
  if (db instanceof MysqlDb) return withScratchMysqlDatabase(db, fn);
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
