import { PassThrough } from 'node:stream';
import mysql from 'mysql2/promise';
import { Config } from '../src/config/config.js';
import { openDatabase } from '../src/db/connect.js';
import type { Db } from '../src/db/types.js';
import { createLogger } from '../src/log/logger.js';
import { createMailer } from '../src/notify/mailer.js';
import type { RunEnvironment } from '../src/runner/runner.js';
import { realSleep, systemClock } from '../src/util/clock.js';
import { startMariaDb, type PrivateMariaDb } from '../test/support/mariadb-server.js';

/** A private MariaDB with one fresh database for a bench; `stop()` removes it all. */
export async function benchDatabase(name = 'bench'): Promise<{ server: PrivateMariaDb; url: string; db: Db; admin: mysql.Connection; stop(): Promise<void> }> {
  const server = await startMariaDb({ bufferPoolMb: 1024 });
  const admin = await mysql.createConnection({ host: '127.0.0.1', port: server.port, user: server.user, password: server.password, multipleStatements: true });
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.query(`USE \`${name}\``);
  const url = server.url(name);
  const db = await openDatabase(url);
  return {
    server,
    url,
    db,
    admin,
    stop: async () => {
      await db.close();
      await admin.end();
      await server.stop();
    },
  };
}

/** A runner environment on the bench database: real clock, real sleep, logs kept quiet. */
export function benchEnvironment(db: Db, url: string, config: Record<string, unknown> = {}): RunEnvironment {
  const stream = new PassThrough();
  stream.resume();
  return {
    config: new Config({ timezone: 'UTC', ...config }, null, process.cwd()),
    databaseUrl: url,
    db,
    clock: systemClock,
    sleep: realSleep,
    logger: createLogger({ stream, interactive: false, level: 'warn', timeZone: 'UTC' }),
    mailer: createMailer({}),
  };
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
export const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/**
 * Lets InnoDB settle before a contender starts — dirty pages flushed, old row versions purged —
 * so no contender pays for the previous one's (or the data generation's) background work.
 */
export async function quiesce(admin: mysql.Connection, timeoutMs = 120_000): Promise<void> {
  await admin.query('SET GLOBAL innodb_max_dirty_pages_pct = 0');
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const [rows] = await admin.query("SELECT VARIABLE_VALUE AS v FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'INNODB_BUFFER_POOL_PAGES_DIRTY'");
      const [hist] = await admin.query("SELECT `COUNT` AS v FROM information_schema.INNODB_METRICS WHERE NAME = 'trx_rseg_history_len'");
      const dirty = Number((rows as Array<{ v: string }>)[0]?.v ?? 0);
      const history = Number((hist as Array<{ v: string }>)[0]?.v ?? 0);
      if ((dirty < 200 && history < 1000) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await admin.query('SET GLOBAL innodb_max_dirty_pages_pct = 90');
  }
}
