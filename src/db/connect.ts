import type { Db } from './types.js';
import { describeTarget, parseDatabaseUrl } from './url.js';

interface ConnectOptions {
  busyTimeoutMs?: number;
  connectTimeoutMs?: number;
}

/** Opens the database a URL names; a MariaDB that cannot be reached fails here, at once. */
export async function openDatabase(url: string, options: ConnectOptions = {}): Promise<Db> {
  const target = parseDatabaseUrl(url);
  // Each driver is loaded only when its engine is used: every run pays for what it loads at start.
  if (target.kind === 'sqlite') {
    const { SqliteDb } = await import('./sqlite.js');
    return SqliteDb.open(target.path, { busyTimeoutMs: options.busyTimeoutMs, createDir: true });
  }
  const { MysqlDb } = await import('./mysql.js');
  return MysqlDb.open(target, describeTarget(target), { connectTimeoutMs: options.connectTimeoutMs });
}
