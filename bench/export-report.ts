/**
 * export-report bench: the report's time against the seven bare section queries, and the
 * report process's peak memory, as user_activities grows (250,000 → 1,000,000 rows with
 * 100,000 users), on SQLite and on a private MariaDB (test/support/mariadb-server.ts).
 *
 *   npx tsx bench/export-report.ts [--engines sqlite,mariadb] [--steps 250000,1000000] [--users 100000] [--runs 3]
 *
 * `bare` runs the seven statements the report is made of, straight through the driver;
 * `report` runs the whole job through the runner (lock, run history, sections, CSV written
 * atomically, retention), mail off; `mail` also mails two admins through a local SMTP server.
 * Times: one child process runs the three in turn, a warm-up round then --runs rounds
 * (interleaved, so load from other processes hits each alike), median per mode. Memory: each
 * mode once more in a fresh child process of its own, whose peak RSS is reported.
 *
 * Run with TMPDIR set to a private folder when other MariaDB servers share /tmp.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import { SMTPServer } from 'smtp-server';
import { Config } from '../src/config/config.js';
import { TableMap } from '../src/config/tables.js';
import { openDatabase } from '../src/db/connect.js';
import { createReferenceSchema } from '../src/db/schema.js';
import type { Db } from '../src/db/types.js';
import { insertRows } from '../src/demo/insert.js';
import { Random } from '../src/demo/random.js';
import { exportReportJob } from '../src/jobs/export-report/index.js';
import { reportPeriod, type Period } from '../src/jobs/export-report/period.js';
import { sectionQueries } from '../src/jobs/export-report/sections.js';
import { createLogger } from '../src/log/logger.js';
import { createMailer } from '../src/notify/mailer.js';
import { runJob } from '../src/runner/runner.js';
import { ManualClock, realSleep } from '../src/util/clock.js';
import { formatLocalDateTime } from '../src/util/time.js';
import { startMariaDb } from '../test/support/mariadb-server.js';

const NOW = new Date('2026-11-25T08:00:00Z');
const TZ = 'UTC';
const SELF = fileURLToPath(import.meta.url);

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? (process.argv[i + 1] as string) : fallback;
}

const log = (m: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${m}\n`);

// ---------------------------------------------------------------- child: one measurement

interface Measurement {
  /** Median ms per mode. */
  medianMs: Record<string, number>;
  runsMs: Record<string, number[]>;
  maxRssMb: number;
}

/**
 * Runs the given modes in turn (`bare`, `report`, `mail`), one warm-up round then `runs`
 * rounds, interleaved so that load from other processes hits every mode alike.
 */
async function measure(
  url: string,
  modes: string[],
  period: Period,
  runs: number,
  smtpUrl?: string,
): Promise<Measurement> {
  const db = await openDatabase(url);
  const config = new Config(
    { timezone: TZ, report: { dir: fs.mkdtempSync(path.join(os.tmpdir(), 'webjobs-bench-report-')) } },
    null,
    process.cwd(),
  );
  const p = reportPeriod(period, NOW, TZ);
  const settings = { suspiciousIpThreshold: 5, suspiciousIpLimit: 1000 };
  let lastDetail = '';
  const once = async (mode: string) => {
    const t0 = performance.now();
    if (mode === 'bare') {
      const each: string[] = [];
      for (const q of sectionQueries(db, new TableMap(config), p, settings)) {
        const t = performance.now();
        await db.query(q.sql, q.params);
        each.push(`${q.id} ${(performance.now() - t).toFixed(0)}`);
      }
      lastDetail = each.join(', ');
    } else {
      const sink = new PassThrough();
      sink.resume();
      const logger = createLogger({ stream: sink, interactive: false, level: 'info', timeZone: TZ });
      const mail = mode === 'mail' && smtpUrl;
      const mailer = createMailer(mail ? { url: smtpUrl, admins: ['ops@example.test', 'cto@example.test'] } : {});
      const s = await runJob(
        exportReportJob,
        { period, format: 'csv', email: Boolean(mail) },
        { config, databaseUrl: url, db, clock: new ManualClock(NOW), sleep: realSleep, logger, mailer },
        { dryRun: false, args: {} },
      );
      mailer.close();
      if (s.status !== 'succeeded' || s.warnings.length)
        throw new Error(`report ${s.status}: ${s.error ?? s.warnings.join('; ')}`);
    }
    return performance.now() - t0;
  };
  const times: Record<string, number[]> = Object.fromEntries(modes.map((m) => [m, []]));
  for (const m of modes) await once(m); // warm-up: page cache / buffer pool
  for (let i = 0; i < runs; i++) for (const m of modes) times[m]?.push(await once(m));
  if (lastDetail) log(`    ${period}, ms per bare statement (last run): ${lastDetail}`);
  await db.close();
  fs.rmSync(config.value('report.dir'), { recursive: true, force: true });
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  return {
    medianMs: Object.fromEntries(Object.entries(times).map(([m, xs]) => [m, median(xs)])),
    runsMs: Object.fromEntries(Object.entries(times).map(([m, xs]) => [m, xs.map(Math.round)])),
    maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

function measureInChild(
  url: string,
  modes: string[],
  period: Period,
  runs: number,
  smtpUrl?: string,
): Promise<Measurement> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [...process.execArgv, SELF, '--child', url, modes.join('+'), period, String(runs), smtpUrl ?? ''],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(JSON.parse(out) as Measurement)
        : reject(new Error(`child ${modes.join('+')} exited ${code}`)),
    );
  });
}

// ---------------------------------------------------------------- parent: data + table

const TYPES = ['login', 'logout', 'login_failed', 'watch_movie', 'watch_series', 'search'];
const TERMS = Array.from({ length: 400 }, (_, i) => `term ${i}`);

async function addActivities(db: Db, r: Random, count: number, users: number): Promise<void> {
  const DAY = 86_400_000;
  const at = (msAgo: number) => formatLocalDateTime(new Date(NOW.getTime() - msAgo), TZ);
  let done = 0;
  const step = 100_000;
  while (done < count) {
    const n = Math.min(step, count - done);
    await insertRows(
      db,
      'user_activities',
      ['user_id', 'activity_type', 'subject_id', 'search_term', 'ip_address', 'created_at'],
      (function* () {
        for (let i = 0; i < n; i++) {
          const type = r.pick(TYPES);
          const subject = type === 'watch_movie' ? r.skewed(10_000) : type === 'watch_series' ? r.skewed(2_000) : null;
          const ip =
            type === 'login_failed' && r.chance(0.2)
              ? `203.0.113.${r.int(1, 254)}`
              : `198.51.${r.int(0, 255)}.${r.int(1, 254)}`;
          yield [
            r.skewed(users, 2),
            type,
            subject,
            type === 'search' ? r.pick(TERMS) : null,
            ip,
            at(r.int(0, 40 * DAY)),
          ];
        }
      })(),
      2000,
    );
    done += n;
    log(`  user_activities: ${done.toLocaleString('en-US')} added`);
  }
}

async function fillBase(db: Db, users: number): Promise<void> {
  const r = new Random(7);
  const DAY = 86_400_000;
  const at = (msAgo: number) => formatLocalDateTime(new Date(NOW.getTime() - msAgo), TZ);
  await createReferenceSchema(db);
  await insertRows(
    db,
    'users',
    ['username', 'email', 'created_at', 'last_activity_at', 'email_verified_at'],
    (function* () {
      for (let i = 1; i <= users; i++)
        yield [
          `user${i}`,
          `user${i}@example.test`,
          at(r.int(0, 400) * DAY),
          r.chance(0.8) ? at(r.int(0, 60 * DAY)) : null,
          null,
        ];
    })(),
    2000,
  );
  await insertRows(
    db,
    'movies',
    ['title', 'year', 'rating'],
    (function* () {
      for (let i = 1; i <= 10_000; i++) yield [`Movie ${i}`, r.int(1970, 2026), r.int(10, 99) / 10];
    })(),
    2000,
  );
  await insertRows(
    db,
    'series',
    ['title', 'year', 'rating'],
    (function* () {
      for (let i = 1; i <= 2_000; i++) yield [`Series ${i}`, r.int(1990, 2026), r.int(10, 99) / 10];
    })(),
    2000,
  );
}

async function startSink(): Promise<{ url: string; close(): Promise<void> }> {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    disableReverseLookup: true,
    logger: false,
    onData: (s, _session, cb) => s.on('data', () => undefined).on('end', () => cb()),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `smtp://127.0.0.1:${(server.server.address() as { port: number }).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function main(): Promise<void> {
  const engines = arg('engines', 'sqlite,mariadb').split(',');
  const steps = arg('steps', '250000,1000000').split(',').map(Number);
  const users = Number(arg('users', '100000'));
  const runs = Number(arg('runs', '3'));
  const rowsOut: string[] = [];
  const sink = await startSink();
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'webjobs-bench-'));
  try {
    for (const engine of engines) {
      let url = `sqlite:${path.join(scratch, 'bench.sqlite')}`;
      let stop = async () => undefined as void;
      if (engine !== 'sqlite') {
        log('starting a private MariaDB');
        const server = await startMariaDb({ bufferPoolMb: 512 });
        stop = () => server.stop();
        // Never leave the private server running: stop it on Ctrl-C / kill too.
        const onSignal = () => void server.stop().finally(() => process.exit(130));
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        try {
          const admin = await mysql.createConnection({
            host: '127.0.0.1',
            port: server.port,
            user: server.user,
            password: server.password,
          });
          await admin.query('CREATE DATABASE bench CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci');
          await admin.end();
        } catch (err) {
          await server.stop();
          throw err;
        }
        url = server.url('bench');
      }
      try {
        const db = await openDatabase(url);
        log(`${engine}: ${users.toLocaleString('en-US')} users, 10,000 movies, 2,000 series`);
        await fillBase(db, users);
        const r = new Random(11);
        let have = 0;
        for (const target of steps) {
          log(`${engine}: growing user_activities to ${target.toLocaleString('en-US')}`);
          const t0 = performance.now();
          await addActivities(db, r, target - have, users);
          if (engine === 'mariadb') await db.query('ANALYZE TABLE user_activities');
          else await db.execute('ANALYZE');
          log(`  (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
          have = target;
          for (const period of ['weekly', 'monthly'] as Period[]) {
            const t = await measureInChild(url, ['bare', 'report', 'mail'], period, runs, sink.url);
            log(`    runs: ${JSON.stringify(t.runsMs)}`);
            // Peak memory of each mode alone, one run each in its own process.
            const rss = [];
            for (const m of ['bare', 'report', 'mail'])
              rss.push((await measureInChild(url, [m], period, 1, sink.url)).maxRssMb);
            const [bare, rep, mail] = [t.medianMs.bare ?? NaN, t.medianMs.report ?? NaN, t.medianMs.mail ?? NaN];
            const line = `| ${engine} | ${target.toLocaleString('en-US')} | ${period} | ${bare.toFixed(0)} | ${rep.toFixed(0)} | ${(rep / bare).toFixed(2)}× | ${mail.toFixed(0)} | ${rss.join(' / ')} |`;
            log(line);
            rowsOut.push(line);
          }
        }
        await db.close();
      } finally {
        await stop();
      }
    }
  } finally {
    await sink.close();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  process.stdout.write(
    [
      `export-report bench (${os.cpus().length} CPUs, node ${process.version}, median of ${runs} runs after a warm-up; ms = milliseconds, RSS = the measuring process's peak)`,
      '',
      '| engine | user_activities | period | 7 bare queries ms | report ms | report / bare | report + mail to 2 ms | peak RSS MB: bare / report / report + mail |',
      '|---|---|---|---|---|---|---|---|',
      ...rowsOut,
      '',
    ].join('\n'),
  );
}

if (process.argv.includes('--child')) {
  const i = process.argv.indexOf('--child');
  const [url, modes, period, runs, smtp] = process.argv.slice(i + 1);
  measure(url as string, (modes as string).split('+'), period as Period, Number(runs), smtp || undefined)
    .then((m) => process.stdout.write(JSON.stringify(m)))
    .catch((err) => {
      process.stderr.write(`${(err as Error).stack}\n`);
      process.exit(1);
    });
} else {
  main().catch((err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  });
}
