/**
 * backup-db on MariaDB against `mysqldump --single-transaction --quick | gzip -N -<level>`, at
 * levels 6 and 9, alternating in one run, on a private MariaDB holding ROWS (default 1,000,000)
 * generated api_requests rows. Prints wall time, the ratio, and each side's peak RSS
 * (GNU time's maximum resident set size: for the pipeline, its largest process), then
 * mydumper's time beside it as the next mark.
 *
 *   npx tsx bench/backup-mysql.ts            (ROWS=200000 REPS=1 for a quick look)
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import { openDatabase } from '../src/db/connect.js';
import { createReferenceSchema } from '../src/db/schema.js';
import { findBinary, startMariaDb } from '../test/support/mariadb-server.js';

import { median, mb, timed, type Measure } from './timing.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROWS = Number(process.env.ROWS ?? 1_000_000);
const REPS = Number(process.env.REPS ?? 2);
const LEVELS = (process.env.LEVELS ?? '6,9').split(',').map(Number);

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'cli', 'main.js')))
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'webjobs-bench-mysql-'));
  console.log(`starting a private MariaDB…`);
  const server = await startMariaDb({ bufferPoolMb: 512 });
  try {
    const admin = await mysql.createConnection({
      host: '127.0.0.1',
      port: server.port,
      user: server.user,
      password: server.password,
    });
    await admin.query('CREATE DATABASE bench CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci');
    await admin.end();
    const db = await openDatabase(server.url('bench'));
    await createReferenceSchema(db);
    await db.close();
    console.log(`generating ${ROWS.toLocaleString('en')} api_requests rows…`);
    const conn = await mysql.createConnection({
      host: '127.0.0.1',
      port: server.port,
      user: server.user,
      password: server.password,
      database: 'bench',
    });
    const t0 = performance.now();
    for (let start = 1; start <= ROWS; start += 250_000) {
      const end = Math.min(ROWS, start + 249_999);
      await conn.query(
        `INSERT INTO api_requests (widget_id, platform, status_code, response_time_ms, cache_hit, created_at)
         SELECT 1 + (seq * 7919) % 5000,
                ELT(1 + (seq * 31) % 4, 'web', 'ios', 'android', 'wordpress'),
                ELT(1 + (seq * 17) % 10, 200, 200, 200, 200, 200, 200, 304, 404, 429, 500),
                5 + (seq * 104729) % 2000,
                (seq * 13) % 3 = 0,
                TIMESTAMP('2026-10-01 00:00:00') + INTERVAL (seq * 5) SECOND + INTERVAL (seq * 7) % 1000 MICROSECOND
         FROM seq_${start}_to_${end}`,
      );
    }
    await conn.query('ANALYZE TABLE api_requests');
    const [[size]] = await conn.query<mysql.RowDataPacket[]>(
      "SELECT data_length + index_length AS b FROM information_schema.TABLES WHERE table_schema = 'bench' AND table_name = 'api_requests'",
    );
    await conn.end();
    console.log(`  ${((performance.now() - t0) / 1000).toFixed(1)} s, table ${mb(Number(size?.b))} on disk`);

    const config = path.join(work, 'webjobs.json');
    fs.writeFileSync(config, JSON.stringify({ backup: { critical: ['api_requests'], retentionDays: 36500 } }));
    const env = { MYSQL_PWD: server.password, DATABASE_URL: server.url('bench'), TZ: 'UTC' };
    const conn_ = `-h 127.0.0.1 -P ${server.port} -u ${server.user}`;
    const results: Record<string, { webjobs: Measure[]; mysqldump: Measure[] }> = {};
    for (const level of LEVELS) {
      results[level] = { webjobs: [], mysqldump: [] };
      for (let rep = 0; rep < REPS; rep++) {
        // Alternate which side goes first, so neither always gets the warmer cache.
        const order = rep % 2 === 0 ? ['mysqldump', 'webjobs'] : ['webjobs', 'mysqldump'];
        for (const side of order) {
          const out = path.join(work, `${side}-${level}-${rep}`);
          if (side === 'webjobs') {
            fs.mkdirSync(out);
            const m = timed(
              `node ${path.join(ROOT, 'bin', 'webjobs.js')} backup-db --type critical --level ${level} --out ${out} --config ${config}`,
              env,
              out,
            );
            results[level]?.webjobs.push(m);
          } else {
            const file = `${out}.sql.gz`;
            const m = timed(
              `mysqldump --single-transaction --quick ${conn_} bench api_requests | gzip -N -${level} > ${file}`,
              env,
              file,
            );
            results[level]?.mysqldump.push(m);
          }
        }
        fs.rmSync(path.join(work, `webjobs-${level}-${rep}`), { recursive: true, force: true });
        fs.rmSync(path.join(work, `mysqldump-${level}-${rep}.sql.gz`), { force: true });
        const w = results[level]?.webjobs.at(-1) as Measure;
        const d = results[level]?.mysqldump.at(-1) as Measure;
        console.log(
          `level ${level} run ${rep + 1}: webjobs ${w.seconds.toFixed(2)} s (CPU ${w.cpu.toFixed(2)} s) ${w.rssMb.toFixed(0)} MB RSS ${mb(w.bytes)} | mysqldump|gzip ${d.seconds.toFixed(2)} s (CPU ${d.cpu.toFixed(2)} s) ${d.rssMb.toFixed(0)} MB RSS ${mb(d.bytes)}`,
        );
      }
    }
    const myOut = path.join(work, 'mydumper');
    // mydumper is only the next mark to aim at, printed beside the table: its absence is no failure.
    const my = findBinary(['mydumper'])
      ? timed(
          `mydumper -h 127.0.0.1 -P ${server.port} -u ${server.user} -p "$MYSQL_PWD" -B bench -T api_requests -c -t 2 -o ${myOut}`,
          env,
          myOut,
        )
      : null;

    console.log(
      `\n${ROWS.toLocaleString('en')} api_requests rows, median of ${REPS} (alternating), ${os.availableParallelism()} CPUs, load ${os.loadavg()[0]?.toFixed(1)}`,
    );
    console.log(
      '| level | webjobs | mysqldump \\| gzip | ratio | CPU s webjobs / mysqldump\\|gzip | webjobs peak RSS | mysqldump\\|gzip peak RSS | webjobs file | mysqldump file |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|');
    for (const level of LEVELS) {
      const r = results[level] as { webjobs: Measure[]; mysqldump: Measure[] };
      const w = median(r.webjobs.map((m) => m.seconds));
      const d = median(r.mysqldump.map((m) => m.seconds));
      const wr = Math.max(...r.webjobs.map((m) => m.rssMb));
      const dr = Math.max(...r.mysqldump.map((m) => m.rssMb));
      console.log(
        `| ${level} | ${w.toFixed(2)} s | ${d.toFixed(2)} s | ${(w / d).toFixed(2)}× | ${median(r.webjobs.map((m) => m.cpu)).toFixed(2)} / ${median(r.mysqldump.map((m) => m.cpu)).toFixed(2)} | ${wr.toFixed(0)} MB | ${dr.toFixed(0)} MB | ${mb(r.webjobs[0]?.bytes ?? 0)} | ${mb(r.mysqldump[0]?.bytes ?? 0)} |`,
      );
    }
    console.log(
      my
        ? `mydumper (-c, 2 threads, default gzip level): ${my.seconds.toFixed(2)} s, ${my.rssMb.toFixed(0)} MB RSS, ${mb(my.bytes)}`
        : 'mydumper: not installed (apt-get install mydumper), not measured',
    );
  } finally {
    await server.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
