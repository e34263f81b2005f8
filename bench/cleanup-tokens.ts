/**
 * cleanup-tokens' heaviest step (old website_statistics: monthly summary, then chunked purge)
 * on SQLite and on a private MariaDB, with WEBSITES × DAYS generated statistics rows
 * (default 300 × 730 = 219,000 rows, about half past a 365-day retention). Prints wall time,
 * rows deleted per second, the longest single delete statement (what the app could wait
 * behind), and the process's peak RSS, against the plain-SQL way (one INSERT … SELECT … GROUP BY,
 * one DELETE) as the mark.
 *
 *   npx tsx bench/cleanup-tokens.ts          (WEBSITES=50 DAYS=400 for a quick look; ENGINES=sqlite)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { Config } from '../src/config/config.js';
import { openDatabase } from '../src/db/connect.js';
import { createReferenceSchema } from '../src/db/schema.js';
import type { Db } from '../src/db/types.js';
import { cleanupTokensJob, type CleanupTokensResult } from '../src/jobs/cleanup-tokens/index.js';
import { createLogger } from '../src/log/logger.js';
import { createMailer } from '../src/notify/mailer.js';
import { runJob } from '../src/runner/runner.js';
import { ManualClock } from '../src/util/clock.js';
import { startMariaDb } from '../test/support/mariadb-server.js';

const WEBSITES = Number(process.env.WEBSITES ?? 300);
const DAYS = Number(process.env.DAYS ?? 730);
const ENGINES = (process.env.ENGINES ?? 'sqlite,mariadb').split(',');
const NOW = new Date('2026-11-25T03:00:00Z');
const DAY = 86_400_000;

async function fill(db: Db): Promise<number> {
  await createReferenceSchema(db);
  let n = 0;
  const batch: unknown[][] = [];
  const flush = async () => {
    if (!batch.length) return;
    await db.transaction(async (tx) => {
      await tx.execute(
        `INSERT INTO website_statistics (website_id, date, statistics_data, created_at, updated_at) VALUES ${batch.map(() => '(?, ?, ?, ?, ?)').join(', ')}`,
        batch.flat(),
      );
    });
    batch.length = 0;
  };
  for (let d = DAYS; d >= 1; d--) {
    const day = new Date(NOW.getTime() - d * DAY).toISOString().slice(0, 10);
    for (let w = 1; w <= WEBSITES; w++) {
      const data = JSON.stringify({
        api_calls_today: (w * 7 + d) % 500,
        average_response_time: 100 + ((w + d) % 90) / 3,
        page_views_today: (w * d) % 5000,
        total_users: w + d,
      });
      batch.push([w, day, data, `${day} 03:00:00`, `${day} 03:00:00`]);
      n++;
      if (batch.length >= 500) await flush();
    }
  }
  await flush();
  return n;
}

async function plainSql(db: Db): Promise<number> {
  const t0 = performance.now();
  const verb = db.dialect === 'sqlite' ? 'INSERT OR IGNORE' : 'INSERT IGNORE';
  const month =
    db.dialect === 'sqlite'
      ? 'CAST(substr(created_at, 1, 4) AS INTEGER), CAST(substr(created_at, 6, 2) AS INTEGER)'
      : 'YEAR(created_at), MONTH(created_at)';
  const j = (p: string) =>
    db.dialect === 'sqlite' ? `json_extract(statistics_data, '$.${p}')` : `JSON_VALUE(statistics_data, '$.${p}')`;
  const obj = db.dialect === 'sqlite' ? 'json_object' : 'JSON_OBJECT';
  await db.execute(
    `${verb} INTO website_statistics_monthly (website_id, year, month, summary_data) SELECT website_id, ${month}, ${obj}('record_count', COUNT(*), 'avg_api_calls', AVG(${j('api_calls_today')}), 'avg_response_time', AVG(${j('average_response_time')}), 'total_page_views', SUM(${j('page_views_today')}), 'max_total_users', MAX(${j('total_users')})) FROM website_statistics WHERE created_at < ? GROUP BY website_id, ${month}`,
    ['2025-11-01 00:00:00'],
  );
  await db.execute('DELETE FROM website_statistics WHERE created_at < ?', ['2025-11-01 00:00:00']);
  return performance.now() - t0;
}

function peakRss(): () => number {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  return () => {
    clearInterval(timer);
    return Math.max(peak, process.memoryUsage().rss) / 1024 / 1024;
  };
}

async function benchOne(engine: string, url: () => Promise<string>, work: string): Promise<void> {
  for (const mode of ['job', 'plain'] as const) {
    const db = await openDatabase(await url());
    const rows = await fill(db);
    if (mode === 'plain') {
      const ms = await plainSql(db);
      console.log(
        `${engine.padEnd(7)} plain SQL (1 INSERT…SELECT, 1 DELETE)   ${(ms / 1000).toFixed(2)} s for ${rows} rows`,
      );
    } else {
      const stop = peakRss();
      const logger = createLogger({
        stream: fs.createWriteStream('/dev/null'),
        interactive: false,
        timeZone: 'UTC',
        level: 'warn',
      });
      const config = new Config(
        { timezone: 'UTC', cleanup: { tempDirs: [], chunkSize: Number(process.env.CHUNK ?? 1000) } },
        null,
        work,
      );
      const t0 = performance.now();
      const summary = await runJob(
        cleanupTokensJob,
        {},
        {
          config,
          databaseUrl: 'bench',
          db,
          clock: new ManualClock(NOW),
          sleep: async () => undefined,
          logger,
          mailer: createMailer({}),
        },
        { dryRun: false, args: {} },
      );
      const ms = performance.now() - t0;
      const rss = stop();
      if (summary.status !== 'succeeded') throw new Error(`job ${summary.status}: ${summary.error}`);
      const step = (summary.result as CleanupTokensResult).steps.find((s) => s.step === 'old_statistics');
      const deleted = step?.count ?? 0;
      console.log(
        `${engine.padEnd(7)} cleanup-tokens                         ${(ms / 1000).toFixed(2)} s for ${rows} rows: ${deleted} summarized+deleted (${Math.round(deleted / (ms / 1000))} rows/s), ` +
          `${String(step?.details?.summariesAdded)} summaries, longest delete statement ${String(step?.details?.longestDeleteStatementMs)} ms, peak RSS ${rss.toFixed(0)} MB`,
      );
    }
    await db.close();
  }
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'webjobs-bench-cleanup-'));
  console.log(`${WEBSITES} websites × ${DAYS} days = ${WEBSITES * DAYS} website_statistics rows; retention 365 days`);
  try {
    if (ENGINES.includes('sqlite')) {
      let i = 0;
      await benchOne('sqlite', async () => `sqlite:${path.join(work, `bench-${i++}.sqlite`)}`, work);
    }
    if (ENGINES.includes('mariadb')) {
      const server = await startMariaDb({ bufferPoolMb: 256 });
      try {
        let i = 0;
        await benchOne(
          'mariadb',
          async () => {
            const name = `bench_${i++}`;
            const admin = await mysql.createConnection({
              host: '127.0.0.1',
              port: server.port,
              user: server.user,
              password: server.password,
            });
            await admin.query(`CREATE DATABASE ${name}`);
            await admin.end();
            return server.url(name);
          },
          work,
        );
      } finally {
        await server.stop();
      }
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
