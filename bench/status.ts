/**
 * `webjobs status` and `webjobs history` on a long run history: N webjobs_runs rows (default
 * 300,000: six jobs, decades of nightly runs plus per-minute noise) on a private MariaDB.
 * Medians of 5 after a warm-up. What operators run by hand must stay instant as history grows.
 *   npx tsx bench/status.ts [rows]
 */
import { Config } from '../src/config/config.js';
import { RunHistory } from '../src/runner/history.js';
import { migrate } from '../src/db/migrate.js';
import { loadSchedule } from '../src/schedule/schedule.js';
import { buildStatus } from '../src/schedule/status.js';
import { benchDatabase, median, timed } from './support.js';

const ROWS = Number(process.argv[2] ?? 300_000);
const b = await benchDatabase();
try {
  const { admin, db } = b;
  await migrate(db);
  const jobs = ['aggregate-stats', 'cleanup-cache', 'backup-db', 'cleanup-tokens', 'warm-cache', 'export-report'];
  const now = Date.now();
  console.log(`generating ${ROWS} webjobs_runs rows …`);
  await admin.query(
    `INSERT INTO webjobs_runs (run_id, job, arguments, status, attempts, started_at, finished_at, started_ms, finished_ms, duration_ms, result, error, host, pid)
     SELECT CONCAT('r', seq), ELT(1 + seq % 6, ${jobs.map((j) => `'${j}'`).join(', ')}), '{}',
            IF(seq % 17 = 0, 'failed', IF(seq % 5 = 0, 'skipped', 'succeeded')), 1,
            FROM_UNIXTIME((${now} - seq * 60000) / 1000), FROM_UNIXTIME((${now} - seq * 60000 + 1500) / 1000),
            ${now} - seq * 60000, ${now} - seq * 60000 + 1500, 1500, '{"ok":true}', IF(seq % 17 = 0, 'boom', NULL), CONCAT('app-', seq % 3), 1000 + seq % 500
       FROM seq_1_to_${ROWS}`,
  );
  await admin.query('ANALYZE TABLE webjobs_runs');
  const config = new Config({ timezone: 'UTC' }, null, process.cwd());
  const schedule = await loadSchedule(config);
  const status = async () => (await timed(() => buildStatus(db, config, schedule, new Date()))).ms;
  const history = async () =>
    (await timed(() => new RunHistory(db, 'UTC').list({ job: 'backup-db', status: 'failed', limit: 20 }))).ms;
  await status();
  await history();
  const s: number[] = [];
  const h: number[] = [];
  for (let i = 0; i < 5; i++) {
    s.push(await status());
    h.push(await history());
  }
  console.log(
    `status (6 jobs, last run, last success, locks, staleness) over ${ROWS} runs: median ${median(s).toFixed(1)} ms`,
  );
  console.log(`history backup-db --failed --limit 20 over ${ROWS} runs: median ${median(h).toFixed(1)} ms`);
} finally {
  await b.stop();
}
