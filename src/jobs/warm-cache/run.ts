import { createRequire } from 'node:module';
import { circuitPolicy, logTransition } from '../../circuit/policy.js';
import { CircuitStore, describeTransition, type CircuitState, type Transition } from '../../circuit/store.js';
import type { JobContext } from '../../runner/job.js';
import { errorMessage, JobSkipped, PartialFailure, UsageError } from '../../util/errors.js';
import { formatDuration, formatLocalDateTime } from '../../util/time.js';
import { expandTemplate } from './config.js';
import { HttpClient, RateLimiter } from './http.js';
import type { Resolved, WarmResult, WidgetResult, WidgetStatus } from './index.js';

const require = createRequire(import.meta.url);
const { version } = require('../../../package.json') as { version: string };

interface Widget {
  widgetId: string;
  platform: string;
  requests: number;
  url: string;
}

const round = (ms: number | null) => (ms === null ? null : Math.round(ms * 10) / 10);

async function popularWidgets(ctx: JobContext, template: string, days: number, count: number): Promise<Widget[]> {
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
    `SELECT ${wid} AS widget_id, MAX(${plat}) AS platform, COUNT(*) AS requests FROM ${q(table)} WHERE ${created} >= ? GROUP BY ${wid} ORDER BY requests DESC, widget_id ASC LIMIT ?`,
    [since, count],
  );
  return rows.map((r) => {
    const widgetId = String(r.widget_id);
    const platform = r.platform === null || r.platform === undefined || r.platform === '' ? null : String(r.platform);
    const url = expandTemplate(template, widgetId, platform ?? '');
    return { widgetId, platform: platform ?? new URL(url).host, requests: Number(r.requests), url };
  });
}

function summarize(widgets: WidgetResult[]): WarmResult['totals'] {
  const n = (s: WidgetStatus) => widgets.filter((w) => w.status === s).length;
  return {
    widgets: widgets.length,
    sent: widgets.filter((w) => w.attempts > 0).length,
    ok: n('ok'),
    clientErrors: n('client-error'),
    failed: n('failed'),
    skipped: n('skipped'),
    deferred: n('deferred'),
    trials: widgets.filter((w) => w.trial).length,
  };
}

export async function run(ctx: JobContext, o: Resolved): Promise<WarmResult> {
  if (!ctx.settings.bool('cache-warming-enabled') && !o.force) {
    throw new JobSkipped(
      'cache warming is disabled (setting cache-warming-enabled = 0; `webjobs settings set cache-warming-enabled 1`, or --force)',
    );
  }
  const template = o.template;
  if (!template)
    throw new UsageError('config warm.urlTemplate is not set (e.g. "http://127.0.0.1:8080/api/v1/widgets/{id}")');
  for (const s of o.secrets) ctx.logger.addSecret(s);
  const headers: Record<string, string> = { 'User-Agent': `webjobs/${version} (warm-cache)`, ...o.headers };
  const count = o.count;
  const breakerOn = ctx.settings.bool('circuit-breaker-enabled');

  const widgets = await popularWidgets(ctx, template, o.days, count);
  ctx.logger.info(
    `${widgets.length} widget(s) among the ${count} most requested in the last ${o.days} day(s); ${o.method} with concurrency ${o.concurrency}${o.rate ? `, at most ${o.rate}/s` : ''}, timeout ${formatDuration(o.timeoutMs)}${breakerOn ? '' : ', circuit breaker disabled'}`,
  );
  const base = {
    method: o.method,
    days: o.days,
    count,
    concurrency: o.concurrency,
    rate: o.rate,
    timeoutMs: o.timeoutMs,
    breaker: breakerOn,
  };

  if (ctx.dryRun) {
    const circuits: Record<string, CircuitState> = {};
    for (const c of breakerOn ? await CircuitStore.list(ctx.db) : []) circuits[c.platform] = c.state;
    const planned: WidgetResult[] = widgets.map((w) => {
      const state = circuits[w.platform] ?? 'closed';
      ctx.logger.info(
        `would ${o.method} ${w.url} (widget ${w.widgetId}, ${w.platform}${state !== 'closed' ? `, circuit ${state}` : ''})`,
      );
      return { ...w, status: 'planned', statusCode: null, ttfbMs: null, totalMs: null, attempts: 0, trial: false };
    });
    return { ...base, totals: summarize(planned), slowest: [], widgets: planned, circuits, transitions: [] };
  }

  const transitions: string[] = [];
  const onTransition = logTransition(ctx.logger);
  const store = breakerOn
    ? new CircuitStore(ctx.db, ctx.clock, circuitPolicy(ctx.settings, o.timeoutMs), (t: Transition) => {
        transitions.push(describeTransition(t));
        onTransition(t);
      })
    : null;
  const client = new HttpClient(o.concurrency);
  const limiter = new RateLimiter(o.rate, ctx.sleep);
  const results: WidgetResult[] = new Array(widgets.length);
  const recording: Promise<unknown>[] = [];
  const recordErrors: unknown[] = [];
  let next = 0;
  let finished = 0;

  const warmOne = async (w: Widget): Promise<WidgetResult> => {
    const r: WidgetResult = {
      ...w,
      status: 'failed',
      statusCode: null,
      ttfbMs: null,
      totalMs: null,
      attempts: 0,
      trial: false,
    };
    let lease: string | null = null;
    if (store) {
      const adm = await store.admit(w.platform);
      if (!adm.allowed) {
        const when =
          adm.halfOpenAtMs !== null && adm.state === 'open'
            ? ` until ${formatLocalDateTime(new Date(adm.halfOpenAtMs), ctx.timeZone)}`
            : '';
        ctx.logger.debug(`skipped widget ${w.widgetId}: ${adm.reason} for ${w.platform}${when}`);
        return { ...r, status: 'skipped', reason: `${adm.reason}${when}` };
      }
      lease = adm.lease;
      r.trial = lease !== null;
    }
    const deadline = Date.now() + o.timeoutMs;
    let outcome: { ok: boolean; error?: string } | null = null;
    try {
      for (;;) {
        if (limiter.pausedUntilMs > deadline) {
          // The app asked every client to wait (429/503 Retry-After) longer than this widget's budget.
          r.status = 'deferred';
          r.reason = `the app asked to wait until ${formatLocalDateTime(new Date(limiter.pausedUntilMs), ctx.timeZone)} (Retry-After), beyond the ${formatDuration(o.timeoutMs)} budget`;
          ctx.logger.warn(`deferred widget ${w.widgetId} (${w.platform}): ${r.reason}`);
          return r;
        }
        await limiter.take(ctx.signal);
        r.attempts++;
        const res = await client.request(w.url, {
          method: o.method,
          headers,
          timeoutMs: Math.max(1, deadline - Date.now()),
          signal: ctx.signal,
        });
        if (ctx.signal.aborted) throw ctx.signal.reason;
        r.statusCode = res.statusCode;
        r.ttfbMs = round(res.ttfbMs);
        r.totalMs = round(res.totalMs);
        const code = res.statusCode;
        if ((code === 429 || code === 503) && (res.retryAfterMs !== null || code === 429)) {
          // The app asks us to slow down: everybody waits, and this widget is retried if the wait fits its budget.
          const wait = res.retryAfterMs ?? 1000;
          limiter.pauseUntil(Date.now() + wait);
          if (Date.now() + wait < deadline && r.attempts < 5) {
            ctx.logger.info(`${code} for widget ${w.widgetId} (${w.platform}): retrying after ${formatDuration(wait)}`);
            await ctx.sleep(wait, ctx.signal);
            continue;
          }
          r.status = 'deferred';
          r.reason = `${code}${res.retryAfterMs !== null ? ` with Retry-After ${Math.round(wait / 1000)} s` : ''}: beyond the ${formatDuration(o.timeoutMs)} budget`;
          ctx.logger.warn(`deferred widget ${w.widgetId} (${w.platform}): ${r.reason}`);
          return r;
        }
        if (res.error !== undefined || code === null) {
          r.status = 'failed';
          r.reason = res.error ?? 'no response';
          outcome = { ok: false, error: r.reason };
        } else if (code >= 500) {
          r.status = 'failed';
          r.reason = `HTTP ${code}`;
          outcome = { ok: false, error: r.reason };
        } else if (code >= 400) {
          // The app answered: the platform is up, this widget just is not cacheable as asked.
          r.status = 'client-error';
          r.reason = `HTTP ${code}`;
          outcome = { ok: true };
        } else {
          r.status = 'ok';
          outcome = { ok: true };
        }
        if (r.status === 'failed')
          ctx.logger.warn(
            `widget ${w.widgetId} (${w.platform}) failed: ${r.reason}${r.trial ? ' (trial request)' : ''}`,
          );
        else ctx.logger.debug(`widget ${w.widgetId} (${w.platform}): ${code} in ${formatDuration(res.totalMs)}`);
        return r;
      }
    } finally {
      // A plain success is recorded in the background (committed in groups) and the worker goes on
      // at once; a failure or a trial's outcome is committed before the next request, so the
      // threshold holds exactly. Every record is awaited before the run ends.
      if (store && outcome) {
        const p = store.record(w.platform, outcome, lease).catch((err: unknown) => void recordErrors.push(err));
        if (outcome.ok && !lease) recording.push(p);
        else await p;
      } else if (store && lease) await store.release(w.platform, lease).catch(() => undefined);
    }
  };

  const worker = async () => {
    while (next < widgets.length) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      const i = next++;
      const w = widgets[i]!;
      results[i] = await warmOne(w);
      finished++;
      ctx.logger.progress({ step: 'warming', done: finished, total: widgets.length, unit: 'widgets' });
      if (o.delayMs > 0 && next < widgets.length) await ctx.sleep(o.delayMs, ctx.signal);
    }
  };
  ctx.logger.step(`warming ${widgets.length} widget(s)`);
  try {
    await Promise.all(Array.from({ length: Math.min(o.concurrency, Math.max(1, widgets.length)) }, worker));
  } finally {
    client.close();
    store?.flush();
    await Promise.all(recording);
  }
  if (recordErrors.length)
    throw new Error(
      `could not record ${recordErrors.length} outcome(s) in webjobs_circuits: ${errorMessage(recordErrors[0])}`,
    );

  const circuits: Record<string, CircuitState> = {};
  if (store)
    for (const c of await CircuitStore.list(ctx.db))
      if (widgets.some((w) => w.platform === c.platform)) circuits[c.platform] = c.state;
  const totals = summarize(results);
  const slowest = results
    .filter((w) => w.totalMs !== null && w.attempts > 0)
    .sort((a, b) => (b.totalMs ?? 0) - (a.totalMs ?? 0))
    .slice(0, 5)
    .map(({ widgetId, platform, statusCode, ttfbMs, totalMs }) => ({
      widgetId,
      platform,
      statusCode,
      ttfbMs,
      totalMs,
    }));
  const result: WarmResult = { ...base, totals, slowest, widgets: results, circuits, transitions };
  ctx.logger.info(
    `warmed ${totals.ok} of ${totals.widgets} widget(s): ${totals.failed} failed, ${totals.clientErrors} client error(s), ${totals.skipped} skipped by an open circuit, ${totals.deferred} deferred`,
  );
  for (const s of slowest)
    ctx.logger.info(
      `slow: widget ${s.widgetId} (${s.platform}) ${s.statusCode ?? '-'} in ${formatDuration(s.totalMs ?? 0)} (first byte ${formatDuration(s.ttfbMs ?? s.totalMs ?? 0)})`,
    );
  if (totals.skipped)
    ctx.warn(
      `${totals.skipped} widget(s) skipped by an open circuit (${
        Object.entries(circuits)
          .filter(([, s]) => s !== 'closed')
          .map(([p, s]) => `${p} ${s}`)
          .join(', ') || 'since closed'
      })`,
    );
  if (totals.deferred)
    ctx.warn(`${totals.deferred} widget(s) deferred: the app asked to slow down (429/503 with Retry-After)`);
  if (totals.ok === 0 && totals.failed > 0) {
    throw new PartialFailure(
      `no request succeeded: ${totals.failed} of ${totals.widgets} widget(s) failed (first: ${results.find((w) => w.status === 'failed')?.reason ?? '?'})`,
      result,
    );
  }
  return result;
}
