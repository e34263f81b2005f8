/**
 * aggregate-stats on a private MariaDB: 1,000,000 api_requests over 30 days, rolled up for
 * the whole range by the job (runner, lock, history, zero rows, grouped upsert, read-back)
 * against the bare INSERT … SELECT … GROUP BY it is built on. Medians of 3 runs each after a
 * warm-up; then the retention purge of 10 of those days, with its longest statement.
 *   npx tsx bench/aggregate-stats.ts [rows]
 */
import { createReferenceSchema } from '../src/db/schema.js';
import { aggregateStatsJob, type AggregateResult } from '../src/jobs/aggregate-stats/index.js';
import { rollupSelect, SUMMARY_COLUMNS, statsNames } from '../src/jobs/aggregate-stats/rollup.js';
import { TableMap } from '../src/config/tables.js';
import { Config } from '../src/config/config.js';
import { runJob } from '../src/runner/runner.js';
import { ManualClock } from '../src/util/clock.js';
import { benchDatabase, benchEnvironment, fmt, median, quiesce, timed } from './support.js';

const ROWS = Number(process.argv[2] ?? 1_000_000);
const FROM = '2026-10-01';
const TO = '2026-10-30';

const b = await benchDatabase();
try {
  const { admin, db } = b;
  await createReferenceSchema(db);
  console.log(`generating ${ROWS} api_requests over ${FROM} .. ${TO} …`);
  await admin.query(
    `INSERT INTO api_requests (widget_id, platform, status_code, response_time_ms, cache_hit, created_at)
     SELECT 1 + FLOOR(RAND(seq) * RAND(seq + 1) * 500), ELT(1 + seq % 4, 'web', 'ios', 'android', 'partner-api'),
            IF(seq % 33 = 0, 500, IF(seq % 20 = 0, 404, 200)), 5 + (seq * 7919) % 300, (seq % 10) < 7,
            TIMESTAMP('${FROM} 00:00:00') + INTERVAL FLOOR((seq - 1) * 2592000 / ${ROWS}) SECOND
       FROM seq_1_to_${ROWS}`,
  );
  await admin.query('ANALYZE TABLE api_requests');
  await admin.query('CREATE TABLE bare_summary LIKE api_statistics_summary');
  await quiesce(admin);

  const n = statsNames(db, new TableMap(new Config({}, null, process.cwd())));
  const bareSql = `INSERT INTO bare_summary (${SUMMARY_COLUMNS.map((c) => `\`${c}\``).join(', ')}) ${rollupSelect(db, n)}`;
  const range = [`${FROM} 00:00:00`, '2026-10-31 00:00:00'];
  const bare = async () => {
    await admin.query('TRUNCATE bare_summary');
    return (await timed(() => admin.query(bareSql, range))).ms;
  };
  const clock = new ManualClock('2026-11-10T03:00:00Z');
  const job = async () => {
    await admin.query('TRUNCATE api_statistics_summary');
    const r = await timed(() =>
      runJob(
        aggregateStatsJob,
        { from: FROM, to: TO, noPurge: true, noWebsites: true },
        { ...benchEnvironment(db, b.url), clock },
        { dryRun: false, args: {} },
      ),
    );
    if (r.value.status !== 'succeeded') throw new Error(`job ${r.value.status}: ${r.value.error}`);
    return { ms: r.ms, result: r.value.result as AggregateResult };
  };

  await bare(); // warm the buffer pool
  const bareMs: number[] = [];
  const jobMs: number[] = [];
  let last: AggregateResult | null = null;
  for (let i = 0; i < 3; i++) {
    bareMs.push(await bare());
    const j = await job();
    jobMs.push(j.ms);
    last = j.result;
  }
  const [[same]] = (await admin.query(
    `SELECT COUNT(*) AS n FROM bare_summary b JOIN api_statistics_summary s USING (\`date\`)
      WHERE b.total_requests = s.total_requests AND b.cache_hits = s.cache_hits AND b.error_count = s.error_count
        AND b.avg_response_ms = s.avg_response_ms AND b.max_response_ms = s.max_response_ms AND b.unique_widgets = s.unique_widgets`,
  )) as unknown as [[{ n: number }]];

  await quiesce(admin);
  // Retention: 10 of the 30 days fall past 30 days' retention on 2026-11-10.
  const purge = await timed(() =>
    runJob(
      aggregateStatsJob,
      { date: TO, noWebsites: true },
      { ...benchEnvironment(db, b.url), clock },
      { dryRun: false, args: {} },
    ),
  );
  const pr = purge.value.result as AggregateResult;

  console.log('');
  console.log(
    `aggregate-stats bench: ${ROWS} api_requests rows, ${FROM} .. ${TO}, MariaDB ${(await db.queryOne<{ v: string }>('SELECT VERSION() AS v'))?.v}`,
  );
  console.log(`  bare INSERT … SELECT … GROUP BY   ${fmt(median(bareMs))}   (runs: ${bareMs.map(fmt).join(', ')})`);
  console.log(
    `  webjobs aggregate-stats --from/--to ${fmt(median(jobMs))}   (runs: ${jobMs.map(fmt).join(', ')}; ${last?.daysRolledUp} days, ${last?.rowsRead} rows read)`,
  );
  console.log(`  identical summary rows            ${Number(same.n)} of 30`);
  console.log(`  ratio job / bare                  ${(median(jobMs) / median(bareMs)).toFixed(2)}×   (target ≤ 1.2×)`);
  console.log(
    `  load average during the run        ${(await import('node:os'))
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );
  console.log(
    `  retention purge                   ${pr.retention.rowsPurged} rows of ${pr.retention.ranges.map((r) => `${r.from}..${r.toExclusive}`).join(', ')} in ${fmt(purge.ms)} (whole run), ${pr.retention.chunks} chunks, longest statement ${pr.retention.longestStatementMs} ms`,
  );
} finally {
  await b.stop();
}
