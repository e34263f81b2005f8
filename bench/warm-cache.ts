/**
 * warm-cache against a local HTTP server (in a child process) that answers every request in
 * LATENCY ms: WIDGETS widgets (default 1,000) over 4 platforms, CONCURRENCY 16, circuit
 * breaker on (every request admitted and recorded through webjobs_circuits on SQLite).
 * Prints the wall time of the warming against the ideal WIDGETS × LATENCY / CONCURRENCY.
 *
 *   npx tsx bench/warm-cache.ts            (WIDGETS=200 for a quick look)
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Config } from '../src/config/config.js';
import { openDatabase } from '../src/db/connect.js';
import { createReferenceSchema } from '../src/db/schema.js';
import { warmCacheJob, type WarmResult } from '../src/jobs/warm-cache/index.js';
import { createLogger } from '../src/log/logger.js';
import { createMailer } from '../src/notify/mailer.js';
import { runJob } from '../src/runner/runner.js';
import { realSleep, systemClock } from '../src/util/clock.js';
import { formatLocalDateTime } from '../src/util/time.js';

const WIDGETS = Number(process.env.WIDGETS ?? 1000);
const LATENCY = Number(process.env.LATENCY ?? 50);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 16);

const SERVER = `
const http = require('node:http');
const s = http.createServer((req, res) => setTimeout(() => { res.setHeader('content-type', 'application/json'); res.end('{"ok":true}'); }, ${LATENCY}));
s.keepAliveTimeout = 30000;
s.listen(0, '127.0.0.1', () => console.log(s.address().port));
`;

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webjobs-bench-warm-'));
  const server = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) =>
    server.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))),
  );
  const url = `sqlite:${path.join(dir, 'bench.sqlite')}`;
  const db = await openDatabase(url);
  try {
    await createReferenceSchema(db);
    const when = formatLocalDateTime(new Date(Date.now() - 86_400_000), 'UTC');
    const platforms = ['web', 'ios', 'android', 'partner-api'];
    await db.transaction(async (tx) => {
      for (let i = 1; i <= WIDGETS; i++) {
        await tx.execute(
          'INSERT INTO api_requests (widget_id, platform, status_code, response_time_ms, cache_hit, created_at) VALUES (?, ?, 200, 10, 0, ?)',
          [i, platforms[i % 4], when],
        );
      }
    });
    const breaker = process.env.BREAKER !== '0';
    if (!breaker) await db.execute("UPDATE settings SET value = '0' WHERE key = 'circuit-breaker-enabled'");
    const config = new Config(
      { timezone: 'UTC', warm: { urlTemplate: `http://127.0.0.1:${port}/api/v1/widgets/{id}?p={platform}` } },
      null,
      dir,
    );
    const logger = createLogger({ stream: new PassThrough().resume(), interactive: false, timeZone: 'UTC' });
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const summary = await runJob(
      warmCacheJob,
      { count: WIDGETS, concurrency: CONCURRENCY, force: true },
      { config, databaseUrl: url, db, clock: systemClock, sleep: realSleep, logger, mailer: createMailer({}) },
      { dryRun: false, args: {} },
    );
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    loop.disable();
    const r = summary.result as WarmResult;
    const ideal = (WIDGETS * LATENCY) / CONCURRENCY;
    console.log(
      `warm-cache: ${WIDGETS} widgets, server latency ${LATENCY} ms, concurrency ${CONCURRENCY}, circuit breaker ${breaker ? 'on' : 'off'} (SQLite)`,
    );
    console.log(`status ${summary.status}: ${r.totals.ok} ok, ${r.totals.failed} failed, ${r.totals.skipped} skipped`);
    console.log(
      `wall time ${Math.round(wallMs)} ms (job's own figure ${summary.durationMs} ms); ideal ${Math.round(ideal)} ms; ratio ${(wallMs / ideal).toFixed(3)}x (target <= 1.25x)`,
    );
    console.log(
      `this process: ${Math.round((cpu.user + cpu.system) / 1000)} ms CPU for the run; event-loop delay p99 ${(loop.percentile(99) / 1e6).toFixed(1)} ms, max ${(loop.max / 1e6).toFixed(1)} ms`,
    );
    console.log(
      `node ${process.version}, ${os.cpus().length} cpu(s), load ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    await db.close();
    server.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
