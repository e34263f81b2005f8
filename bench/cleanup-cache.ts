/**
 * cleanup-cache on a private MariaDB: 1,000,000 cache rows, half of them expired and spread
 * over the whole key range, against pt-archiver (--purge --limit 1000 --commit-each
 * --bulk-delete) and one unbounded DELETE. Every contender starts from the same copy.
 *   npx tsx bench/cleanup-cache.ts [rows]
 */
import { spawnSync } from 'node:child_process';
import { createReferenceSchema } from '../src/db/schema.js';
import { cleanupCacheJob, type CleanupCacheResult } from '../src/jobs/cleanup-cache/index.js';
import { runJob } from '../src/runner/runner.js';
import { ManualClock } from '../src/util/clock.js';
import { formatLocalDateTime } from '../src/util/time.js';
import { findBinary } from '../test/support/mariadb-server.js';
import { backlogWatch, benchDatabase, benchEnvironment, cacheFixture, fmt, timed } from './support.js';

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

  // 1. One unbounded DELETE.
  await fresh();
  const toDelete = await expired();
  await backlog.start();
  const single = await timed(() => admin.query('DELETE FROM cache WHERE expires_at < ?', [nowLocal]));
  const singleBacklog = await backlog.settle(toDelete);
  const singleLeft = await expired();

  // 2. pt-archiver.
  await fresh();
  let pt: { ms: number; ok: boolean; note: string } = { ms: NaN, ok: false, note: 'pt-archiver not installed' };
  const ptBin = findBinary(['pt-archiver']);
  if (ptBin) {
    const dsn = `h=127.0.0.1,P=${b.server.port},u=${b.server.user},p=${b.server.password},D=bench,t=cache`;
    await backlog.start();
    const t0 = performance.now();
    const r = spawnSync(
      ptBin,
      [
        '--source',
        dsn,
        '--where',
        `expires_at < '${nowLocal}'`,
        '--purge',
        '--limit',
        '1000',
        '--commit-each',
        '--bulk-delete',
        '--no-check-charset',
      ],
      { encoding: 'utf8' },
    );
    pt = {
      ms: performance.now() - t0,
      ok: r.status === 0,
      note: r.status === 0 ? '' : (r.stderr || r.stdout).slice(0, 500),
    };
  }
  const ptBacklog = ptBin ? await backlog.settle(toDelete) : null;
  const ptLeft = await expired();

  // 3. webjobs cleanup-cache (the whole job: runner, lock, history, chunks, ANALYZE TABLE).
  await fresh();
  await backlog.start();
  const job = await timed(() =>
    runJob(
      cleanupCacheJob,
      CHUNK === undefined ? {} : { chunk: CHUNK },
      { ...benchEnvironment(db, b.url), clock: new ManualClock(now) },
      { dryRun: false, args: {} },
    ),
  );
  const jobResult = job.value.result as CleanupCacheResult;
  const jobBacklog = await backlog.settle(jobResult.rowsDeleted);
  const jobLeft = await expired();

  console.log('');
  console.log(
    `cleanup-cache bench: ${ROWS} rows, ${toDelete} expired, MariaDB ${(await db.queryOne<{ v: string }>('SELECT VERSION() AS v'))?.v}`,
  );
  console.log(`  one unbounded DELETE          ${fmt(single.ms)}   (left ${singleLeft})`);
  console.log(`  pt-archiver --limit 1000 …    ${pt.ok ? fmt(pt.ms) : `failed: ${pt.note}`}   (left ${ptLeft})`);
  console.log(
    `  webjobs cleanup-cache         ${fmt(job.ms)}   (deleted ${jobResult.rowsDeleted} in ${jobResult.chunks} chunks (${CHUNK === undefined ? 'default sizing' : `--chunk ${CHUNK}`}), left ${jobLeft}, status ${job.value.status})`,
  );
  console.log(`  ratio vs pt-archiver          ${(job.ms / pt.ms).toFixed(2)}×   (target ≤ 0.5×)`);
  console.log(`  ratio vs one DELETE           ${(job.ms / single.ms).toFixed(2)}×   (target ≤ 1.5×)`);
  console.log(
    `  longest single statement      ${jobResult.longestStatementMs} ms   (target ≤ 200 ms; chunks adapt to ${100} ms)`,
  );
  const after = (x: { purgedInRun: number; drainMs: number } | null) =>
    x ? `${String(x.purgedInRun).padStart(7)} purged within the run, the rest in ${fmt(x.drainMs)} after it` : 'n/a';
  console.log(`  InnoDB purge of the deleted rows (not part of the ratios):`);
  console.log(`    one unbounded DELETE        ${after(singleBacklog)}`);
  console.log(`    pt-archiver                 ${after(ptBacklog)}`);
  console.log(`    webjobs cleanup-cache       ${after(jobBacklog)}`);
  console.log(
    `  load average during the run   ${(await import('node:os'))
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );
} finally {
  await b.stop();
}
