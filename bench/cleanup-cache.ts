/**
 * cleanup-cache on a private MariaDB: 1,000,000 cache rows, half of them expired and spread
 * over the whole key range, against pt-archiver (--purge --limit 1000 --commit-each
 * --bulk-delete) and one unbounded DELETE. Every contender starts from the same copy.
 * Each is measured twice: its wall clock, and from its start until InnoDB's purge backlog
 * (`Innodb_history_list_length`) is back to its value before — the work it leaves behind
 * counted in. The job's statements: 99th percentile and max, by kind.
 *   npx tsx bench/cleanup-cache.ts [rows]
 *   REPS=5                rounds of the three contenders, interleaved (default 1); medians at the end
 *   BENCH_CHUNK=N         run the job with --chunk N (default: as shipped)
 *   BENCH_TARGET_MS=N     config purge.targetStatementMs (default: as shipped)
 *   BENCH_TRACE=1         print every DELETE's duration in order
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { observePurgeStatements, type PurgeStatementKind } from '../src/db/purge.js';
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
  median,
  percentile,
  timed,
} from './support.js';

const ROWS = Number(process.argv[2] ?? 1_000_000);
const REPS = Number(process.env.REPS ?? 1);
const CHUNK = process.env.BENCH_CHUNK ? Number(process.env.BENCH_CHUNK) : undefined;
const TARGET_MS = process.env.BENCH_TARGET_MS ? Number(process.env.BENCH_TARGET_MS) : undefined;

interface Statement {
  ms: number;
  kind: PurgeStatementKind;
  rows?: number;
}

interface Round {
  single: { ms: number; back: number | null };
  pt: { ms: number; back: number | null } | null;
  job: { ms: number; back: number | null; chunks: number };
  statements: Statement[];
}

const backText = (ms: number | null) => (ms === null ? 'not back within 300 s' : fmt(ms));
const ratio = (a: number | null | undefined, b: number | null | undefined) =>
  a && b ? `${(a / b).toFixed(2)}×` : 'n/a';
const ms = (x: number) => `${x.toFixed(0)} ms`;

function statementLine(statements: Statement[], kind?: PurgeStatementKind): string {
  const xs = statements.filter((s) => kind === undefined || s.kind === kind).map((s) => s.ms);
  if (xs.length === 0) return '0';
  return `${xs.length}: p99 ${ms(percentile(xs, 99))}, max ${ms(Math.max(...xs))}, median ${ms(percentile(xs, 50))}`;
}

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
  const ptBin = findBinary(['pt-archiver']);
  const config = TARGET_MS === undefined ? {} : { purge: { targetStatementMs: TARGET_MS } };
  const version = (await db.queryOne<{ v: string }>('SELECT VERSION() AS v'))?.v;

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

  const round = async (): Promise<Round> => {
    const single = await contend(
      () => admin.query('DELETE FROM cache WHERE expires_at < ?', [nowLocal]),
      () => toDelete,
    );
    const pt = ptBin
      ? await contend(
          async () => {
            const dsn = `h=127.0.0.1,P=${b.server.port},u=${b.server.user},p=${b.server.password},D=bench,t=cache`;
            const args = ['--source', dsn, '--where', `expires_at < '${nowLocal}'`, '--purge', '--limit', '1000'];
            const r = spawnSync(ptBin, [...args, '--commit-each', '--bulk-delete', '--no-check-charset'], {
              encoding: 'utf8',
            });
            if (r.status !== 0) throw new Error(`pt-archiver failed: ${(r.stderr || r.stdout).slice(0, 500)}`);
          },
          () => toDelete,
        )
      : null;
    // The whole job: runner, lock, history, chunks, ANALYZE TABLE.
    const statements: Statement[] = [];
    observePurgeStatements((s) => statements.push(s));
    const job = await contend(
      () =>
        runJob(
          cleanupCacheJob,
          CHUNK === undefined ? {} : { chunk: CHUNK },
          { ...benchEnvironment(db, b.url, config), clock: new ManualClock(now) },
          { dryRun: false, args: {} },
        ),
      (summary) => (summary.result as CleanupCacheResult).rowsDeleted,
    );
    observePurgeStatements(null);
    const result = job.value.result as CleanupCacheResult;
    if (job.value.status !== 'succeeded' || job.left !== 0)
      throw new Error(`job ${job.value.status}, left ${job.left}`);
    if (single.left !== 0 || (pt && pt.left !== 0)) throw new Error('a contender left expired rows');

    console.log('');
    console.log(`                                wall clock   until the purge backlog is back`);
    console.log(`  one unbounded DELETE          ${fmt(single.ms)}       ${backText(single.back.ms)}`);
    console.log(
      `  pt-archiver --limit 1000 …    ${pt ? `${fmt(pt.ms)}       ${backText(pt.back.ms)}` : 'not installed'}`,
    );
    console.log(
      `  webjobs cleanup-cache         ${fmt(job.ms)}       ${backText(job.back.ms)}   (${result.rowsDeleted} rows in ${result.chunks} chunks)`,
    );
    console.log(
      `  ratio vs pt-archiver          ${ratio(job.ms, pt?.ms)}        ${ratio(job.back.ms, pt?.back.ms)}   (target ≤ 0.5×, wall clock)`,
    );
    console.log(
      `  ratio vs one DELETE           ${ratio(job.ms, single.ms)}        ${ratio(job.back.ms, single.back.ms)}   (target ≤ 1.5×, backlog back)`,
    );
    console.log(`  job statements, all           ${statementLine(statements)}   (target: p99 ≤ 200 ms)`);
    if (process.env.BENCH_TRACE)
      console.log(
        `    deletes in order (rows/ms): ${statements
          .filter((s) => s.kind === 'delete')
          .map((s) => `${s.rows}/${s.ms.toFixed(0)}`)
          .join(' ')}`,
      );
    for (const kind of ['delete', 'bound', 'ceiling'] as const)
      console.log(`    ${kind.padEnd(28)}${statementLine(statements, kind)}`);
    console.log(
      `  InnoDB purge within the run   DELETE ${single.purge.purgedInRun}, pt-archiver ${pt?.purge.purgedInRun ?? '-'}, job ${job.purge.purgedInRun}`,
    );
    console.log(`  load average after the round  ${loadAverage()}`);
    return {
      single: { ms: single.ms, back: single.back.ms },
      pt: pt ? { ms: pt.ms, back: pt.back.ms } : null,
      job: { ms: job.ms, back: job.back.ms, chunks: result.chunks },
      statements,
    };
  };

  console.log(
    `cleanup-cache bench: ${ROWS} rows, ${toDelete} expired, MariaDB ${version}, ${REPS} round(s), ` +
      `${CHUNK === undefined ? 'default chunk sizing' : `--chunk ${CHUNK}`}, ` +
      `purge.targetStatementMs ${TARGET_MS ?? 'default'}`,
  );
  const rounds: Round[] = [];
  for (let i = 0; i < REPS; i++) {
    console.log(`\nround ${i + 1} of ${REPS}`);
    rounds.push(await round());
  }
  if (REPS > 1) summarize(rounds);
} finally {
  await b.stop();
}

function summarize(rounds: Round[]): void {
  const each = (f: (r: Round) => number | null | undefined) =>
    rounds.map((r) => {
      const v = f(r);
      return v === null || v === undefined ? NaN : v;
    });
  const ratios = (a: (r: Round) => number | null | undefined, b: (r: Round) => number | null | undefined) =>
    rounds.map((r) => (a(r) ?? NaN) / (b(r) ?? NaN));
  const list = (xs: number[], digits = 2) => xs.map((x) => x.toFixed(digits)).join(' ');
  const vsPt = ratios(
    (r) => r.job.ms,
    (r) => r.pt?.ms,
  );
  const vsDelete = ratios(
    (r) => r.job.back,
    (r) => r.single.back,
  );
  const p99s = rounds.map((r) =>
    percentile(
      r.statements.map((s) => s.ms),
      99,
    ),
  );
  const all = rounds.flatMap((r) => r.statements.map((s) => s.ms));
  console.log(`\nsummary of ${rounds.length} rounds (each round's figure, then the median)`);
  console.log(
    `  one DELETE wall / back        ${list(each((r) => r.single.ms).map((x) => x / 1000))} s / ${list(each((r) => r.single.back).map((x) => x / 1000))} s`,
  );
  console.log(`  pt-archiver wall              ${list(each((r) => r.pt?.ms).map((x) => x / 1000))} s`);
  console.log(
    `  job wall / back               ${list(each((r) => r.job.ms).map((x) => x / 1000))} s / ${list(each((r) => r.job.back).map((x) => x / 1000))} s`,
  );
  console.log(
    `  vs pt-archiver (≤ 0.5×)       ${list(vsPt)}   median ${median(vsPt).toFixed(2)}×, worst ${Math.max(...vsPt).toFixed(2)}×`,
  );
  console.log(
    `  vs one DELETE, back (≤ 1.5×)  ${list(vsDelete)}   median ${median(vsDelete).toFixed(2)}×, worst ${Math.max(...vsDelete).toFixed(2)}×`,
  );
  console.log(
    `  statements p99 (≤ 200 ms)     ${list(p99s, 0)} ms   median ${median(p99s).toFixed(0)} ms, worst ${Math.max(...p99s).toFixed(0)} ms`,
  );
  console.log(
    `  all ${all.length} statements          p99 ${ms(percentile(all, 99))}, max ${ms(Math.max(...all))}, median ${ms(percentile(all, 50))}`,
  );
}

function loadAverage(): string {
  return os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' / ');
}
