import { readState, writeState } from '../db/state.js';
import type { Db } from '../db/types.js';
import { formatLocalDate } from '../util/time.js';

/** The webjobs_state row holding the day (app time zone) webjobs_runs was last pruned. */
const PRUNED_ON = 'history-pruned-on';
/** Rows per DELETE: each is its own short statement, so a large backlog never holds locks for long. */
export const PRUNE_CHUNK = 1000;

export interface PruneOutcome {
  /** False when today's prune had already been done. */
  ran: boolean;
  deleted: number;
}

/**
 * Deletes webjobs_runs rows that started more than `retentionDays` ago, at most once a day
 * (any job's finish may do it; the first of the day does). Kept whatever their age: every run
 * still 'running' (its process may live), and each job's last run and last successful run, so
 * `status` still shows them. Rows go by id in chunks; two processes pruning at once delete the
 * same rows harmlessly.
 */
export async function pruneRunHistory(
  db: Db,
  opts: { retentionDays: number; now: Date; timeZone: string; chunk?: number },
): Promise<PruneOutcome> {
  const today = formatLocalDate(opts.now, opts.timeZone);
  if ((await readState(db, PRUNED_ON)) === today) return { ran: false, deleted: 0 };
  // Marked first: a prune that fails is not retried by every run of the day.
  await writeState(db, PRUNED_ON, today);
  const keep = await keptIds(db);
  const cutoffMs = opts.now.getTime() - opts.retentionDays * 86_400_000;
  const chunk = opts.chunk ?? PRUNE_CHUNK;
  const notKept = keep.length ? ` AND id NOT IN (${keep.map(() => '?').join(', ')})` : '';
  let deleted = 0;
  for (;;) {
    const ids = await db.query<{ id: number }>(
      `SELECT id FROM webjobs_runs WHERE started_ms < ? AND status <> 'running'${notKept} ORDER BY id LIMIT ${chunk}`,
      [cutoffMs, ...keep],
    );
    if (!ids.length) return { ran: true, deleted };
    const list = ids.map((r) => Number(r.id));
    await db.execute(`DELETE FROM webjobs_runs WHERE id IN (${list.map(() => '?').join(', ')})`, list);
    deleted += list.length;
    if (ids.length < chunk) return { ran: true, deleted };
  }
}

/** Each job's last run and last successful run (a handful of ids: one or two per job). */
async function keptIds(db: Db): Promise<number[]> {
  const rows = await db.query<{ id: number }>(
    `SELECT MAX(id) AS id FROM webjobs_runs GROUP BY job
     UNION SELECT MAX(id) AS id FROM webjobs_runs WHERE status = 'succeeded' GROUP BY job`,
  );
  return rows.map((r) => Number(r.id));
}
