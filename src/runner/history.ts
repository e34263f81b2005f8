import os from 'node:os';
import type { Db } from '../db/types.js';
import { formatLocalDateTime } from '../util/time.js';
import { processAlive } from './lock.js';

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'skipped' | 'cancelled' | 'abandoned';

export interface RunRecord {
  runId: string;
  job: string;
  arguments: string;
  status: RunStatus;
  attempts: number;
  startedAt: string;
  finishedAt: string | null;
  startedMs: number;
  finishedMs: number | null;
  durationMs: number | null;
  result: string | null;
  error: string | null;
  host: string;
  pid: number;
}

interface RunRow {
  run_id: string;
  job: string;
  arguments: string | null;
  status: RunStatus;
  attempts: number | string;
  started_at: string;
  finished_at: string | null;
  started_ms: number | string;
  finished_ms: number | string | null;
  duration_ms: number | string | null;
  result: string | null;
  error: string | null;
  host: string;
  pid: number | string;
}

const fromRow = (r: RunRow): RunRecord => ({
  runId: r.run_id,
  job: r.job,
  arguments: r.arguments ?? '{}',
  status: r.status,
  attempts: Number(r.attempts),
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  startedMs: Number(r.started_ms),
  finishedMs: r.finished_ms === null ? null : Number(r.finished_ms),
  durationMs: r.duration_ms === null ? null : Number(r.duration_ms),
  result: r.result,
  error: r.error,
  host: r.host,
  pid: Number(r.pid),
});

/** The `webjobs_runs` table: one row per run, written at start and completed at the end. */
export class RunHistory {
  constructor(
    private readonly db: Db,
    private readonly timeZone: string,
  ) {}

  async start(rec: {
    runId: string;
    job: string;
    arguments: string;
    startedAt: Date;
    status?: RunStatus;
  }): Promise<void> {
    await this.db.execute(
      'INSERT INTO webjobs_runs (run_id, job, arguments, status, attempts, started_at, started_ms, host, pid) VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?)',
      [
        rec.runId,
        rec.job,
        rec.arguments,
        rec.status ?? 'running',
        formatLocalDateTime(rec.startedAt, this.timeZone),
        rec.startedAt.getTime(),
        os.hostname(),
        process.pid,
      ],
    );
  }

  async finish(
    runId: string,
    rec: { status: RunStatus; attempts: number; finishedAt: Date; durationMs: number; result: unknown; error?: string },
  ): Promise<void> {
    await this.db.execute(
      'UPDATE webjobs_runs SET status = ?, attempts = ?, finished_at = ?, finished_ms = ?, duration_ms = ?, result = ?, error = ? WHERE run_id = ?',
      [
        rec.status,
        rec.attempts,
        formatLocalDateTime(rec.finishedAt, this.timeZone),
        rec.finishedAt.getTime(),
        Math.round(rec.durationMs),
        rec.result === undefined ? null : JSON.stringify(rec.result),
        rec.error ?? null,
        runId,
      ],
    );
  }

  async setAttempts(runId: string, attempts: number): Promise<void> {
    await this.db.execute('UPDATE webjobs_runs SET attempts = ? WHERE run_id = ?', [attempts, runId]);
  }

  /** A run still marked running whose lock was taken over, or whose process is gone, is abandoned. */
  async markAbandoned(runId: string, reason: string): Promise<void> {
    await this.db.execute(
      "UPDATE webjobs_runs SET status = 'abandoned', error = ? WHERE run_id = ? AND status = 'running'",
      [reason, runId],
    );
  }

  /** Marks this job's dead runs on this host as abandoned (their process no longer exists). */
  async sweepAbandoned(job: string): Promise<number> {
    const host = os.hostname();
    const rows = await this.db.query<{ run_id: string; pid: number | string }>(
      "SELECT run_id, pid FROM webjobs_runs WHERE job = ? AND status = 'running' AND host = ?",
      [job, host],
    );
    let n = 0;
    for (const r of rows) {
      const pid = Number(r.pid);
      if (pid !== process.pid && !processAlive(pid)) {
        await this.markAbandoned(r.run_id, `process ${pid} on ${host} ended without finishing the run`);
        n++;
      }
    }
    return n;
  }

  async list(filter: { job?: string; status?: RunStatus; limit?: number } = {}): Promise<RunRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.job) {
      where.push('job = ?');
      params.push(filter.job);
    }
    if (filter.status) {
      where.push('status = ?');
      params.push(filter.status);
    }
    const limit = Math.max(1, Math.min(10_000, Math.floor(filter.limit ?? 20)));
    const rows = await this.db.query<RunRow>(
      `SELECT run_id, job, arguments, status, attempts, started_at, finished_at, started_ms, finished_ms, duration_ms, result, error, host, pid
       FROM webjobs_runs ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY started_ms DESC, id DESC LIMIT ${limit}`,
      params,
    );
    return rows.map(fromRow);
  }

  async get(runId: string): Promise<RunRecord | undefined> {
    const row = await this.db.queryOne<RunRow>(
      'SELECT run_id, job, arguments, status, attempts, started_at, finished_at, started_ms, finished_ms, duration_ms, result, error, host, pid FROM webjobs_runs WHERE run_id = ?',
      [runId],
    );
    return row ? fromRow(row) : undefined;
  }
}
