import type { Db } from '../db/types.js';

export interface LoggedTransition {
  atMs: number;
  text: string;
}

/**
 * Circuit transitions as warm-cache recorded them in its run results (the circuits table keeps
 * only the current state), newest first. Only runs whose result mentions a circuit are read.
 */
export async function circuitTransitions(db: Db, sinceMs: number, limit = 20): Promise<LoggedTransition[]> {
  const rows = await db.query<{ started_ms: number | string; result: string | null }>(
    `SELECT started_ms, result FROM webjobs_runs
     WHERE job = 'warm-cache' AND started_ms >= ? AND result LIKE ? ORDER BY started_ms DESC LIMIT ${Math.floor(limit)}`,
    [sinceMs, '%"transitions":["circuit %'],
  );
  const out: LoggedTransition[] = [];
  for (const r of rows) {
    let list: unknown;
    try {
      list = (JSON.parse(r.result ?? '{}') as { transitions?: unknown }).transitions;
    } catch {
      continue;
    }
    if (!Array.isArray(list)) continue;
    for (const t of [...list].reverse())
      if (typeof t === 'string' && out.length < limit) out.push({ atMs: Number(r.started_ms), text: t });
  }
  return out;
}
