/**
 * cleanup-cache on a private MariaDB: 1,000,000 cache rows, half of them expired and spread
 * over the whole key range, against pt-archiver (--purge --limit 1000 --commit-each
 * --bulk-delete) and one unbounded DELETE. Every contender starts from the same copy.
 * Each is measured twice: its wall clock, and from its start until InnoDB's purge backlog
 * (`Innodb_history_list_length`) is back to its value before — the work it leaves behind
 * counted in. The job's statements: 99th percentile and max.
 *   npx tsx bench/cleanup-cache.ts [rows]
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { observePurgeStatements } from '../src/db/purge.js';
import { createReferenceSchema } from '../src/db/schema.js';
import { cleanupCacheJob, type CleanupCacheResult } from '../src/jobs/cleanup-cache/index.js';
import { runJob } from '../src/runner/runner.js';
import { ManualClock } from '../src/util/clock.js';
import { formatLocalDateTime } from '../src/util/time.js';
import { findBinary } from '../test/support/mariadb-server.js';
import {
  backlogWatch,
  benchDatabase,
  benchEnvironment,
  cacheFixture,
  fmt,
  historyWatch,
  percentile,
  timed,
} from './support.js';

const ROWS = Number(process.argv[2] ?? 1_000_000);
// Default: the job as shipped (no --chunk: starts at 5000 rows, adapts to the 100 ms target).
const CHUNK = process.env.BENCH_CHUNK ? Number(process.env.BENCH_CHUNK) : undefined;

const b = await benchDatabase();
try {
  const { admin, db } = b;
  await createReferenceSchema(db);
  const now = new Date();
  const nowLocal = formatLocalDateTime(now, 'UTC');
  console.log(`generating ${ROWS} cache rows (half expired) …`);
  const { fresh, expired } = await cacheFixture(admin, ROWS, nowLocal);
  const backlog = await backlogWatch(admin);
  const history = await historyWatch(admin);
  /** Runs one contender from a fresh copy: wall clock, InnoDB's purge within/after it, time until the backlog is back. */
  const contend = async <T>(fn: () => Promise<T>, deleted: (value: T) => number) => {
    await fresh();
    await backlog.start();
    await history.mark();
    const run = await timed(fn);
    const [purge, back] = await Promise.all([backlog.settle(deleted(run.value)), history.back()]);
    return { ...run, purge, back, left: await expired() };
  };

  await fresh();
  const toDelete = await expired();

  // 1. One unbounded DELETE.
  const single = await contend(
    () => admin.query('DELETE FROM cache WHERE expires_at < ?', [nowLocal]),
    () => toDelete,
  );

  // 2. pt-archiver.
  const ptBin = findBinary(['pt-archiver']);
  const pt = ptBin
    ? await contend(
        async () => {
          const dsn = `h=127.0.0.1,P=${b.server.port},u=${b.server.user},p=${b.server.password},D=bench,t=cache`;
          const args = ['--source', dsn, '--where', `expires_at < '${nowLocal}'`, '--purge', '--limit', '1000'];
          const r = spawnSync(ptBin, [...args, '--commit-each', '--bulk-delete', '--no-check-charset'], {
            encoding: 'utf8',
          });
          return { ok: r.status === 0, note: r.status === 0 ? '' : (r.stderr || r.stdout).slice(0, 500) };
        },
        () => toDelete,
      )
    : null;

  // 3. webjobs cleanup-cache (the whole job: runner, lock, history, chunks, ANALYZE TABLE).
  const statements: number[] = [];
  observePurgeStatements((ms) => statements.push(ms));
  const job = await contend(
    () =>
      runJob(
        cleanupCacheJob,
        CHUNK === undefined ? {} : { chunk: CHUNK },
        { ...benchEnvironment(db, b.url), clock: new ManualClock(now) },
        { dryRun: false, args: {} },
      ),
    (summary) => (summary.result as CleanupCacheResult).rowsDeleted,
  );
  observePurgeStatements(null);
  const jobResult = job.value.result as CleanupCacheResult;

  const backText = (x: { ms: number | null }) => (x.ms === null ? 'not back within 300 s' : fmt(x.ms));
  const ratio = (a: number | null | undefined, b: number | null | undefined) =>
    a && b ? `${(a / b).toFixed(2)}×` : 'n/a';
  console.log('');
  console.log(
    `cleanup-cache bench: ${ROWS} rows, ${toDelete} expired, MariaDB ${(await db.queryOne<{ v: string }>('SELECT VERSION() AS v'))?.v}`,
  );
  console.log(`                                wall clock   until the purge backlog is back`);
  console.log(
    `  one unbounded DELETE          ${fmt(single.ms)}       ${backText(single.back)}   (left ${single.left})`,
  );
  console.log(
    `  pt-archiver --limit 1000 …    ${pt ? (pt.value.ok ? `${fmt(pt.ms)}       ${backText(pt.back)}` : `failed: ${pt.value.note}`) : 'not installed'}   (left ${pt?.left ?? '-'})`,
  );
  console.log(
    `  webjobs cleanup-cache         ${fmt(job.ms)}       ${backText(job.back)}   (deleted ${jobResult.rowsDeleted} in ${jobResult.chunks} chunks (${CHUNK === undefined ? 'default sizing' : `--chunk ${CHUNK}`}), left ${job.left}, status ${job.value.status})`,
  );
  console.log(
    `  ratio vs pt-archiver          ${ratio(job.ms, pt?.ms)}        ${ratio(job.back.ms, pt?.back.ms)}   (target ≤ 0.5×, wall clock)`,
  );
  console.log(
    `  ratio vs one DELETE           ${ratio(job.ms, single.ms)}        ${ratio(job.back.ms, single.back.ms)}   (target ≤ 1.5×, backlog back)`,
  );
  console.log(
    `  job statements                ${statements.length}: p99 ${percentile(statements, 99).toFixed(0)} ms (target ≤ 200 ms), max ${Math.max(...statements).toFixed(0)} ms, median ${percentile(statements, 50).toFixed(0)} ms`,
  );
  console.log(
    `  Innodb_history_list_length    before/peak after: DELETE ${single.back.before}/${single.back.peakAfter}, pt-archiver ${pt ? `${pt.back.before}/${pt.back.peakAfter}` : '-'}, job ${job.back.before}/${job.back.peakAfter}`,
  );
  const after = (x: { purgedInRun: number; drainMs: number } | undefined) =>
    x ? `${String(x.purgedInRun).padStart(7)} purged within the run, the rest in ${fmt(x.drainMs)} after it` : 'n/a';
  console.log(`  InnoDB purge of the deleted rows:`);
  console.log(`    one unbounded DELETE        ${after(single.purge)}`);
  console.log(`    pt-archiver                 ${after(pt?.purge)}`);
  console.log(`    webjobs cleanup-cache       ${after(job.purge)}`);
  console.log(
    `  load average after the run    ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );
} finally {
  await b.stop();
}
