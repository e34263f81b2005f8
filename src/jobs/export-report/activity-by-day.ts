import type { TableMap } from '../../config/tables.js';
import { dayOf } from '../../db/dialect.js';
import type { Db } from '../../db/types.js';
import { daysBetween, addDays } from '../../util/time.js';
import type { ReportPeriod } from './period.js';

export interface DayCount {
  day: string;
  count: number;
}

/**
 * Activity rows per local day of the period (every day listed, quiet ones with 0), counted by
 * the engine; null when the activity table is missing (the report says so in its sections).
 */
export async function activityByDay(db: Db, map: TableMap, p: ReportPeriod): Promise<DayCount[] | null> {
  const table = map.table('user_activities');
  if (!(await db.tableExists(table))) return null;
  const created = db.quote(map.column('user_activities', 'created_at'));
  const rows = await db.query<{ day: unknown; n: number | string }>(
    `SELECT ${dayOf(db.dialect, created)} AS day, COUNT(*) AS n FROM ${db.quote(table)}
     WHERE ${created} >= ? AND ${created} < ? GROUP BY ${dayOf(db.dialect, created)}`,
    [p.fromTs, p.toTs],
  );
  const counts = new Map(rows.map((r) => [String(r.day).slice(0, 10), Number(r.n)]));
  return daysBetween(p.from, addDays(p.to, -1)).map((day) => ({ day, count: counts.get(day) ?? 0 }));
}
