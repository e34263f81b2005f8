import type { Db } from '../db/types.js';
import type { RunStatus } from './history.js';

/** Per job: the last real run (skipped ones do not count) and the last success, read with a few grouped queries. */
export interface JobRunSummary {
  job: string;
  lastRun: {
    runId: string;
    status: RunStatus;
    startedMs: number;
    finishedMs: number | null;
    durationMs: number | null;
    host: string;
    pid: number;
    error: string | null;
  } | null;
  lastSuccess: {
    runId: string;
    startedMs: number;
    finishedMs: number | null;
    durationMs: number | null;
    host: string;
  } | null;
  /** The first run ever recorded (for "never succeeded" staleness). */
  firstRunMs: number | null;
}

interface Row {
  run_id: string;
  job: string;
  status: RunStatus;
  started_ms: number | string;
  finished_ms: number | string | null;
  duration_ms: number | string | null;
  host: string;
  pid: number | string;
  error: string | null;
}

const num = (v: number | string | null) => (v === null ? null : Number(v));

async function latest(db: Db, job: string, where: string): Promise<Row | undefined> {
  return db.queryOne<Row>(
    `SELECT run_id, job, status, started_ms, finished_ms, duration_ms, host, pid, error FROM webjobs_runs WHERE job = ? AND ${where} ORDER BY started_ms DESC, id DESC LIMIT 1`,
    [job],
  );
}

/** Summaries for the given jobs plus every job that has history (webjobs_runs must exist). */
export async function summarizeRuns(db: Db, jobs: readonly string[] = []): Promise<Map<string, JobRunSummary>> {
  const known = await db.query<{ job: string; first_ms: number | string }>(
    'SELECT job, MIN(started_ms) AS first_ms FROM webjobs_runs GROUP BY job',
  );
  const first = new Map(known.map((r) => [r.job, Number(r.first_ms)]));
  const names = [...new Set([...jobs, ...first.keys()])];
  const out = new Map<string, JobRunSummary>();
  for (const job of names) {
    const run = first.has(job) ? await latest(db, job, "status NOT IN ('skipped', 'running')") : undefined;
    const ok = first.has(job) ? await latest(db, job, "status = 'succeeded'") : undefined;
    out.set(job, {
      job,
      lastRun: run
        ? {
            runId: run.run_id,
            status: run.status,
            startedMs: Number(run.started_ms),
            finishedMs: num(run.finished_ms),
            durationMs: num(run.duration_ms),
            host: run.host,
            pid: Number(run.pid),
            error: run.error,
          }
        : null,
      lastSuccess: ok
        ? {
            runId: ok.run_id,
            startedMs: Number(ok.started_ms),
            finishedMs: num(ok.finished_ms),
            durationMs: num(ok.duration_ms),
            host: ok.host,
          }
        : null,
      firstRunMs: first.get(job) ?? null,
    });
  }
  return out;
}
