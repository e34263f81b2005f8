import { MysqlDb } from './mysql.js';
import { SqliteDb } from './sqlite.js';
import type { Db } from './types.js';
import { describeTarget, parseDatabaseUrl } from './url.js';

export interface ConnectOptions {
  busyTimeoutMs?: number;
  connectTimeoutMs?: number;
}

/** Opens the database a URL names; a MariaDB that cannot be reached fails here, at once. */
export async function openDatabase(url: string, options: ConnectOptions = {}): Promise<Db> {
  const target = parseDatabaseUrl(url);
  if (target.kind === 'sqlite') {
    return SqliteDb.open(target.path, { busyTimeoutMs: options.busyTimeoutMs, createDir: true });
  }
  return MysqlDb.open(target, describeTarget(target), { connectTimeoutMs: options.connectTimeoutMs });
}
