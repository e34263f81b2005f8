import fs from 'node:fs';
import path from 'node:path';
import { migrate } from '../../src/db/migrate.js';
import { createReferenceSchema } from '../../src/db/schema.js';
import type { Db } from '../../src/db/types.js';
import { insertRows } from '../../src/demo/insert.js';
import { addDays } from '../../src/util/time.js';

/** The moment the dashboard is made (WEBJOBS_NOW), in UTC (the tests' time zone). */
export const NOW = '2026-11-25T12:00:00Z';
export const TODAY = '2026-11-25';

/** Day `i` days before today, `YYYY-MM-DD`. */
export const daysAgo = (i: number) => addDays(TODAY, -i);

export interface GeneratedRun {
  job: string;
  day: string;
  status: 'succeeded' | 'failed' | 'skipped' | 'abandoned';
  durationMs: number;
  result?: unknown;
}

/**
 * The run history the page is checked against. Each list is made by rule, and the tests work
 * out what the page must show from these lists, not from the page.
 */
export function generatedRuns(): GeneratedRun[] {
  const runs: GeneratedRun[] = [];
  // aggregate-stats: every day of the last 40 except three gaps; one failed day, two runs on another.
  for (let i = 0; i < 40; i++) {
    if ([5, 6, 20].includes(i)) continue;
    runs.push({
      job: 'aggregate-stats',
      day: daysAgo(i),
      status: i === 10 ? 'failed' : 'succeeded',
      durationMs: 1000 + i * 10,
    });
    if (i === 3) runs.push({ job: 'aggregate-stats', day: daysAgo(i), status: 'succeeded', durationMs: 5000 });
  }
  // backup-db critical: the last 12 days, steady size, then a sudden drop today; and two runs 60 days ago.
  for (const i of [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 60, 61]) {
    const bytes = i === 0 ? 300_000 : 1_000_000 + i * 1000;
    runs.push({
      job: 'backup-db',
      day: daysAgo(i),
      status: 'succeeded',
      durationMs: 2000 + i,
      result: { type: 'critical', bytes },
    });
  }
  // backup-db full: four Sundays-ish.
  for (const i of [2, 9, 16, 23]) {
    runs.push({
      job: 'backup-db',
      day: daysAgo(i),
      status: 'succeeded',
      durationMs: 9000,
      result: { type: 'full', bytes: 5_000_000 },
    });
  }
  // cleanup-cache: only runs older than the 30-day window.
  for (const i of [35, 36, 50])
    runs.push({ job: 'cleanup-cache', day: daysAgo(i), status: 'succeeded', durationMs: 300 });
  // warm-cache: skipped days and an abandoned one; one run that recorded circuit transitions.
  for (const i of [0, 1, 2, 4, 8]) {
    runs.push({
      job: 'warm-cache',
      day: daysAgo(i),
      status: i === 4 ? 'abandoned' : i === 8 ? 'skipped' : 'succeeded',
      durationMs: 700,
      result:
        i === 1
          ? {
              transitions: [
                'circuit booking: closed -> open (5 consecutive failures)',
                'circuit tickets: open -> half_open (timeout)',
              ],
            }
          : { transitions: [] },
    });
  }
  // A job that is in no schedule but has history of its own.
  for (const i of [1, 3]) runs.push({ job: 'legacy-import', day: daysAgo(i), status: 'succeeded', durationMs: 42 });
  return runs;
}

/** API summary rows: every other day of the last 100 (the page shows the last 90). */
export function generatedApiDays(): { date: string; requests: number; hits: number; errors: number; avgMs: number }[] {
  const out = [];
  for (let i = 0; i < 100; i += 2)
    out.push({ date: daysAgo(i), requests: 1000 + i * 7, hits: 600 + i, errors: i % 10, avgMs: 120 + i });
  return out;
}

export const CIRCUITS = [
  { platform: 'booking', state: 'open', failures: 5 },
  { platform: 'tickets', state: 'half_open', failures: 0 },
  { platform: 'weather', state: 'closed', failures: 0 },
];

export const PAUSED_JOB = 'export-report';
export const LOCKED_JOB = 'cleanup-tokens';

/** Fills the database: reference schema, run history, a lock, a pause, circuits and API figures. */
export async function buildDashboardFixture(db: Db): Promise<void> {
  await createReferenceSchema(db);
  await migrate(db);
  const nowMs = Date.parse(NOW);
  let seq = 0;
  await insertRows(
    db,
    'webjobs_runs',
    [
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
    ],
    generatedRuns().map((r) => {
      const startedMs = Date.parse(`${r.day}T03:00:00Z`) + seq * 1000;
      seq++;
      const iso = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
      return [
        `run-${seq}`,
        r.job,
        '{}',
        r.status,
        1,
        iso(startedMs),
        iso(startedMs + r.durationMs),
        startedMs,
        startedMs + r.durationMs,
        r.durationMs,
        r.result === undefined ? null : JSON.stringify(r.result),
        r.status === 'failed' ? 'boom <b>not markup</b>' : null,
        'app-1',
        1234,
      ];
    }),
  );
  await db.execute(
    'INSERT INTO webjobs_locks (name, owner, run_id, host, pid, acquired_at_ms, lease_until_ms) VALUES (?, ?, ?, ?, ?, ?, ?)',
    [LOCKED_JOB, 'owner-1', 'run-x', 'other-host', 4321, nowMs - 60_000, nowMs + 3_600_000],
  );
  await db.execute(`INSERT INTO settings (${db.quote('key')}, ${db.quote('value')}) VALUES (?, ?)`, [
    `job-paused:${PAUSED_JOB}`,
    'since 2026-11-24 10:00:00 by ops@host: migration',
  ]);
  for (const c of CIRCUITS)
    await db.execute(
      "INSERT INTO webjobs_circuits (platform, state, version, failure_count, total_requests, total_failures, opened_at_ms, trial_leases, last_failure, updated_at_ms) VALUES (?, ?, 1, ?, 100, 7, ?, '[]', ?, ?)",
      [
        c.platform,
        c.state,
        c.failures,
        c.state === 'closed' ? null : nowMs - 120_000,
        c.state === 'open' ? 'HTTP 503' : null,
        nowMs - 120_000,
      ],
    );
  await insertRows(
    db,
    'api_statistics_summary',
    ['date', 'total_requests', 'cache_hits', 'error_count', 'avg_response_ms', 'max_response_ms', 'unique_widgets'],
    generatedApiDays().map((d) => [d.date, d.requests, d.hits, d.errors, d.avgMs, d.avgMs * 3, 10]),
  );
}

/** Backup files on disk: a fresh critical one and a full one older than the 26 h limit. */
export function writeBackupFiles(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `backup_critical_${TODAY}_03-00-00.sql.gz`), Buffer.alloc(3000));
  fs.writeFileSync(path.join(dir, `backup_full_${daysAgo(2)}_03-00-00.sql.gz`), Buffer.alloc(5000));
}
