import type { Db } from '../types.js';
import type { MysqlDb } from '../mysql.js';
import type { DumpRequest, DumpResult, SqlSink, TableChecksum } from './types.js';

// MariaDB/MySQL writer: being written on its own branch (see issue 2); not usable yet.
export async function dumpMysql(_db: MysqlDb, _sink: SqlSink, _req: DumpRequest): Promise<DumpResult> {
  throw new Error('MariaDB backup is not implemented yet');
}

export async function checksumMysqlTables(_db: MysqlDb, _tables: readonly string[]): Promise<TableChecksum[]> {
  throw new Error('MariaDB checksums are not implemented yet');
}

export async function withScratchMysqlDatabase<T>(_db: MysqlDb, _fn: (scratch: Db) => Promise<T>): Promise<T> {
  throw new Error('MariaDB scratch databases are not implemented yet');
}
