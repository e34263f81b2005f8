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
export async function benchDatabase(
  name = 'bench',
): Promise<{ server: PrivateMariaDb; url: string; db: Db; admin: mysql.Connection; stop(): Promise<void> }> {
  const server = await startMariaDb({ bufferPoolMb: 1024 });
  const admin = await mysql.createConnection({
    host: '127.0.0.1',
    port: server.port,
    user: server.user,
    password: server.password,
    multipleStatements: true,
  });
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
      const [rows] = await admin.query(
        "SELECT VARIABLE_VALUE AS v FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'INNODB_BUFFER_POOL_PAGES_DIRTY'",
      );
      const [hist] = await admin.query(
        "SELECT `COUNT` AS v FROM information_schema.INNODB_METRICS WHERE NAME = 'trx_rseg_history_len'",
      );
      const dirty = Number((rows as Array<{ v: string }>)[0]?.v ?? 0);
      const history = Number((hist as Array<{ v: string }>)[0]?.v ?? 0);
      if ((dirty < 200 && history < 1000) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await admin.query('SET GLOBAL innodb_max_dirty_pages_pct = 90');
  }
}

/** InnoDB's count of delete-marked records its purge has removed (the metric is switched on by `backlogWatch`). */
async function purgedRecords(admin: mysql.Connection): Promise<number> {
  const [rows] = await admin.query(
    "SELECT `COUNT` AS v FROM information_schema.INNODB_METRICS WHERE NAME = 'purge_del_mark_records'",
  );
  return Number((rows as Array<{ v: string | number }>)[0]?.v ?? 0);
}

/**
 * What a delete leaves InnoDB to do after it returns: `start()` before a contender, then
 * `settle(rows)` right after it — how many of its deleted rows InnoDB had already purged
 * (work done inside the timed run) and how long the rest took to purge afterwards (work
 * outside it). Informational: the ratios stay the plain wall times.
 */
export async function backlogWatch(admin: mysql.Connection) {
  await admin.query("SET GLOBAL innodb_monitor_enable = 'purge_del_mark_records'");
  let base = 0;
  return {
    start: async () => {
      base = await purgedRecords(admin);
    },
    settle: async (rows: number, timeoutMs = 120_000): Promise<{ purgedInRun: number; drainMs: number }> => {
      const t0 = performance.now();
      const purgedInRun = (await purgedRecords(admin)) - base;
      let last = purgedInRun;
      let since = t0;
      for (;;) {
        const n = (await purgedRecords(admin)) - base;
        const at = performance.now();
        if (n >= rows || at - t0 > timeoutMs) return { purgedInRun, drainMs: at - t0 };
        if (n !== last) [last, since] = [n, at];
        else if (at - since > 3000) return { purgedInRun, drainMs: since - t0 }; // nothing more is coming
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

/**
 * The cleanup-cache benches' data: a template of ROWS cache rows, half expired (scattered over a
 * random MD5 key), a fresh settled copy of it as `cache` on demand, and the count of expired rows.
 */
export async function cacheFixture(
  admin: mysql.Connection,
  rows: number,
  nowLocal: string,
): Promise<{ fresh(): Promise<void>; expired(): Promise<number> }> {
  await admin.query('CREATE TABLE cache_template LIKE cache');
  await admin.query(
    `INSERT INTO cache_template (\`key\`, value, expires_at)
     SELECT CONCAT('widget:', MD5(seq)), REPEAT(CONCAT('<div>', seq, '</div>'), 12),
            IF(seq % 2 = 0, ? - INTERVAL (seq % 86400) SECOND, ? + INTERVAL (1 + seq % 86400) SECOND)
       FROM seq_1_to_${rows}`,
    [nowLocal, nowLocal],
  );
  return {
    async fresh() {
      await admin.query('DROP TABLE IF EXISTS cache');
      await admin.query('CREATE TABLE cache LIKE cache_template');
      await admin.query('INSERT INTO cache SELECT * FROM cache_template');
      await admin.query('ANALYZE TABLE cache');
      await quiesce(admin);
    },
    async expired() {
      const [found] = await admin.query('SELECT COUNT(*) AS n FROM cache WHERE expires_at < ?', [nowLocal]);
      return Number((found as Array<{ n: number }>)[0]?.n);
    },
  };
}

/** InnoDB's purge backlog: undo logs of committed transactions not purged yet. */
export async function historyLength(admin: mysql.Connection): Promise<number> {
  const [rows] = await admin.query("SHOW GLOBAL STATUS LIKE 'Innodb_history_list_length'");
  const status = (rows as Array<{ Value?: string }>)[0]?.Value;
  if (status !== undefined) return Number(status);
  const [hist] = await admin.query(
    "SELECT `COUNT` AS v FROM information_schema.INNODB_METRICS WHERE NAME = 'trx_rseg_history_len'",
  );
  return Number((hist as Array<{ v: string }>)[0]?.v ?? 0);
}

/**
 * The work a contender leaves behind counted in: `mark()` just before it starts, `back()` right
 * after it returns — the time from its start until `Innodb_history_list_length` is back to its
 * value before (polled every 50 ms; null after the timeout).
 */
export async function historyWatch(admin: mysql.Connection) {
  let before = 0;
  let startedAt = 0;
  return {
    mark: async () => {
      before = await historyLength(admin);
      startedAt = performance.now();
    },
    back: async (timeoutMs = 300_000): Promise<{ ms: number | null; before: number; peakAfter: number }> => {
      let peakAfter = 0;
      for (;;) {
        const h = await historyLength(admin);
        const at = performance.now();
        peakAfter = Math.max(peakAfter, h);
        if (h <= before) return { ms: at - startedAt, before, peakAfter };
        if (at - startedAt > timeoutMs) return { ms: null, before, peakAfter };
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

/** The p-th percentile (0–100) of a list of numbers, nearest rank. */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
