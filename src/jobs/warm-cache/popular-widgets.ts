import type { JobContext } from '../../runner/job.js';
import { formatLocalDateTime } from '../../util/time.js';
import { expandTemplate } from './config.js';

export interface Widget {
  widgetId: string;
  platform: string;
  requests: number;
  url: string;
}

/**
 * The `count` most requested widgets of the last `days` days (ties: lower id first), each with
 * its platform: the one most of its requests in the window name (ties: the lowest platform in
 * the database's order), a platform left empty only when none of its requests names one; then
 * the URL's host stands in. One statement: counts per (widget, platform), ranked in the database.
 */
export async function popularWidgets(
  ctx: JobContext,
  template: string,
  days: number,
  count: number,
): Promise<Widget[]> {
  const t = ctx.tables;
  const table = t.table('api_requests');
  const q = (n: string) => ctx.db.quote(n);
  const wid = q(t.column('api_requests', 'widget_id'));
  const plat = q(t.column('api_requests', 'platform'));
  const created = q(t.column('api_requests', 'created_at'));
  if (!(await ctx.db.tableExists(table)))
    throw new Error(
      `table ${table} does not exist (run \`webjobs init --schema\`, or map tables.api_requests.name in config)`,
    );
  const since = formatLocalDateTime(new Date(ctx.clock.now().getTime() - days * 86_400_000), ctx.timeZone);
  const rows = await ctx.db.query<{ widget_id: unknown; platform: unknown; requests: unknown }>(
    `SELECT widget_id, platform, requests FROM (
       SELECT widget_id, platform, SUM(n) OVER (PARTITION BY widget_id) AS requests,
              ROW_NUMBER() OVER (
                PARTITION BY widget_id
                ORDER BY CASE WHEN platform IS NULL OR platform = '' THEN 1 ELSE 0 END, n DESC, platform ASC
              ) AS pick
         FROM (SELECT ${wid} AS widget_id, ${plat} AS platform, COUNT(*) AS n
                 FROM ${q(table)} WHERE ${created} >= ? GROUP BY ${wid}, ${plat}) per_platform
     ) ranked
     WHERE pick = 1 ORDER BY requests DESC, widget_id ASC LIMIT ?`,
    [since, count],
  );
  return rows.map((r) => {
    const widgetId = String(r.widget_id);
    const platform = r.platform === null || r.platform === undefined || r.platform === '' ? null : String(r.platform);
    const url = expandTemplate(template, widgetId, platform ?? '');
    return { widgetId, platform: platform ?? new URL(url).host, requests: Number(r.requests), url };
  });
}
