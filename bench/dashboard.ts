/**
 * `webjobs dashboard` on a long run history: N webjobs_runs rows (default 300,000: the
 * registered jobs in turn, one run a minute going back ~208 days, every 17th failed, every 5th
 * skipped; backup-db runs carry a {type, bytes} result) plus 365 days of api_statistics_summary, on a private MariaDB
 * and on a SQLite file. Measures collecting + rendering the page (median of 5 after a warm-up)
 * and the page's size, then the whole CLI run once (process start included).
 *   npx tsx bench/dashboard.ts [rows]
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Config } from '../src/config/config.js';
import { collectDashboard } from '../src/dashboard/data.js';
import { renderPage } from '../src/dashboard/page.js';
import { openDatabase } from '../src/db/connect.js';
import { migrate } from '../src/db/migrate.js';
import { createReferenceSchema } from '../src/db/schema.js';
import type { Db } from '../src/db/types.js';
import { insertRows } from '../src/demo/insert.js';
import { jobNames } from '../src/jobs/registry.js';
import { benchDatabase, median, timed } from './support.js';

const ROWS = Number(process.argv[2] ?? 300_000);
const JOBS = jobNames();
const NOW = Date.now();
const iso = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');

function* runRows(): Generator<unknown[]> {
  for (let seq = 1; seq <= ROWS; seq++) {
    const job = JOBS[seq % JOBS.length]!;
    const started = NOW - seq * 60_000;
    const status = seq % 17 === 0 ? 'failed' : seq % 5 === 0 ? 'skipped' : 'succeeded';
    const duration = 500 + (seq % 97) * 30;
    const result =
      job === 'backup-db'
        ? JSON.stringify({ type: seq % 12 === 2 ? 'full' : 'critical', bytes: 50_000_000 + (seq % 1000) * 1000 })
        : '{"ok":true}';
    yield [
      `r${seq}`,
      job,
      '{}',
      status,
      1,
      iso(started),
      iso(started + duration),
      started,
      started + duration,
      duration,
      result,
      status === 'failed' ? 'boom' : null,
      `app-${seq % 3}`,
      1000 + (seq % 500),
    ];
  }
}

function* apiRows(): Generator<unknown[]> {
  for (let i = 0; i < 365; i++) {
    const date = iso(NOW - i * 86_400_000).slice(0, 10);
    yield [date, 100_000 + i * 10, 60_000 + i * 5, 100 + (i % 50), 120.5 + (i % 30), 2000, 300];
  }
}

async function fill(db: Db): Promise<void> {
  await createReferenceSchema(db);
  await migrate(db);
  const cols = [
    'run_id',
    'job',
    'arguments',
    'status',
    'attempts',
    'started_at',
    'finished_at',
    'started_ms',
    'finished_ms',
    'duration_ms',
    'result',
    'error',
    'host',
    'pid',
  ];
  if (db.dialect === 'sqlite')
    await db.transaction(async (tx) => void (await insertRows(tx, 'webjobs_runs', cols, runRows(), 2000)));
  else await insertRows(db, 'webjobs_runs', cols, runRows(), 2000);
  await insertRows(
    db,
    'api_statistics_summary',
    ['date', 'total_requests', 'cache_hits', 'error_count', 'avg_response_ms', 'max_response_ms', 'unique_widgets'],
    apiRows(),
  );
}

async function measure(engine: string, db: Db, url: string): Promise<void> {
  const config = new Config(
    { timezone: 'UTC', backup: { dir: path.join(os.tmpdir(), 'webjobs-bench-no-backups') } },
    null,
    process.cwd(),
  );
  const once = () => timed(async () => renderPage(await collectDashboard(db, config, new Date(NOW))));
  await once();
  const ms: number[] = [];
  let bytes = 0;
  for (let i = 0; i < 5; i++) {
    const r = await once();
    ms.push(r.ms);
    bytes = Buffer.byteLength(r.value);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webjobs-bench-dashboard-'));
  const out = path.join(dir, 'dashboard.html');
  const cfg = path.join(dir, 'c.json');
  fs.writeFileSync(cfg, JSON.stringify(config.data));
  const t0 = performance.now();
  execFileSync(process.execPath, [
    path.resolve('bin/webjobs.js'),
    'dashboard',
    '--out',
    out,
    '--config',
    cfg,
    '--db',
    url,
    '--quiet',
  ]);
  const cli = performance.now() - t0;
  console.log(
    `${engine}: ${ROWS} runs: collect + render median ${median(ms).toFixed(0)} ms (min ${Math.min(...ms).toFixed(0)}), page ${(bytes / 1024).toFixed(1)} KB; whole CLI run ${cli.toFixed(0)} ms, file ${(fs.statSync(out).size / 1024).toFixed(1)} KB`,
  );
  fs.rmSync(dir, { recursive: true, force: true });
}

const b = await benchDatabase('bench_dashboard');
try {
  console.log(`generating ${ROWS} webjobs_runs rows on MariaDB …`);
  await fill(b.db);
  await b.admin.query('ANALYZE TABLE webjobs_runs');
  await measure('MariaDB', b.db, b.url);
} finally {
  await b.stop();
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webjobs-bench-sqlite-'));
try {
  const url = `sqlite:${path.join(dir, 'bench.sqlite')}`;
  const db = await openDatabase(url);
  console.log(`generating ${ROWS} webjobs_runs rows on SQLite …`);
  await fill(db);
  await db.execute('ANALYZE');
  await measure('SQLite', db, url);
  await db.close();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
