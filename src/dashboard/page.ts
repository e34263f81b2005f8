import { createHash } from 'node:crypto';
import { barChart, escapeXml as esc, lineChart } from '../charts/svg.js';
import type { JobStatus } from '../schedule/status.js';
import { formatBytes, formatDuration } from '../util/time.js';
import type { DashboardData, DayWindow } from './data.js';
import type { TimelineDay } from './queries.js';

export const STATUS_COLORS = {
  failed: '#d62728',
  broken: '#ff7f0e',
  running: '#1f77b4',
  succeeded: '#2ca02c',
  skipped: '#aaaaaa',
} as const;

const CSS = `body{font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#222;margin:16px 24px;background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:22px 0 8px;border-bottom:1px solid #ddd;padding-bottom:3px}
.meta{color:#666;font-size:12px}table{border-collapse:collapse}th,td{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:middle;font-size:13px}
th{background:#f4f4f4}.empty{color:#777;font-style:italic}.warnings li{color:#a40000}.ok{color:#2a7a2a}
.status-failed,.state-open{color:#c00;font-weight:bold}.status-succeeded,.state-closed{color:#2a7a2a}.state-half_open{color:#c60}
.charts{display:flex;flex-wrap:wrap;gap:18px}.charts figure{margin:0}figcaption{font-size:12px;color:#444;margin-bottom:2px}
.legend span{display:inline-block;margin-right:12px;font-size:12px}.swatch{display:inline-block;width:10px;height:10px;margin-right:4px}
.sw-failed{background:${STATUS_COLORS.failed}}.sw-broken{background:${STATUS_COLORS.broken}}.sw-running{background:${STATUS_COLORS.running}}
.sw-succeeded{background:${STATUS_COLORS.succeeded}}.sw-skipped{background:${STATUS_COLORS.skipped}}.sw-band{background:#e8f1fb;border:1px solid #bcd}`;

/**
 * The page's Content-Security-Policy: nothing may load, no script may run, and the one inline
 * style block is allowed by its hash (so an injected `<style>` would not apply either).
 */
export const CONTENT_SECURITY_POLICY = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(CSS).digest('base64')}'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

/** The same policy minus what a `<meta>` tag may not carry (frame-ancestors is header-only). */
const META_POLICY = CONTENT_SECURITY_POLICY.replace(/; frame-ancestors 'none'$/, '');

export interface PageOptions {
  /** Seconds between reloads (served live); none for a file. */
  refreshSeconds?: number;
}

/** One self-contained HTML page: inline CSS and server-drawn SVG, no script, nothing fetched. */
export function renderPage(data: DashboardData, options: PageOptions = {}): string {
  const refresh = options.refreshSeconds ? `<meta http-equiv="refresh" content="${options.refreshSeconds}">` : '';
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${esc(META_POLICY)}">`,
    '<meta name="referrer" content="no-referrer">',
    refresh,
    '<title>webjobs dashboard</title>',
    `<style>${CSS}</style></head><body>`,
    '<h1>webjobs dashboard</h1>',
    `<p class="meta">Generated ${esc(data.generatedAt)} (${esc(data.timeZone)}) from ${esc(data.source)}${options.refreshSeconds ? ` · refreshes every ${options.refreshSeconds} s` : ''}</p>`,
    warningsSection(data),
    jobsSection(data),
    backupsSection(data),
    apiSection(data),
    circuitsSection(data),
    '</body></html>',
    '',
  ].join('\n');
}

function section(id: string, title: string, body: string): string {
  return `<section id="${id}"><h2>${esc(title)}</h2>${body}</section>`;
}

const empty = (text: string) => `<p class="empty">${esc(text)}</p>`;

function warningsSection(data: DashboardData): string {
  if (!data.warnings.length) return section('warnings', 'Warnings', '<p class="ok">No warnings.</p>');
  return section(
    'warnings',
    `Warnings (${data.warnings.length})`,
    `<ul class="warnings">${data.warnings.map((w) => `<li class="warning">${esc(w)}</li>`).join('')}</ul>`,
  );
}

const axisOf = (w: DayWindow): [string, string] => [w.days[0] ?? '', w.days.at(-1) ?? ''];

function worstStatus(d: TimelineDay): keyof typeof STATUS_COLORS {
  if (d.failed) return 'failed';
  if (d.broken) return 'broken';
  if (d.running) return 'running';
  if (d.succeeded) return 'succeeded';
  return 'skipped';
}

function dayTitle(d: TimelineDay): string {
  const parts = (['succeeded', 'failed', 'broken', 'skipped', 'running'] as const)
    .filter((k) => d[k] > 0)
    .map((k) => `${d[k]} ${k === 'broken' ? 'abandoned/cancelled' : k}`);
  const took = d.maxMs === null ? '' : `; longest ${formatDuration(d.maxMs)}, mean ${formatDuration(d.avgMs ?? 0)}`;
  return `${d.job} ${d.day}: ${d.runs} run(s): ${parts.join(', ')}${took}`;
}

/** One bar per day with runs: coloured by the day's worst outcome, as tall as its longest run. */
function timeline(job: string, data: DashboardData): string {
  const w = data.timeline.window;
  const days = data.timeline.days.filter((d) => d.job === job);
  if (!days.length) return `<span class="empty">no runs in ${w.days.length} days</span>`;
  const slot = new Map(w.days.map((d, i) => [d, i]));
  return barChart({
    width: 320,
    height: 56,
    slots: w.days.length,
    label: `${job}: runs per day over the last ${w.days.length} days (${days.reduce((s, d) => s + d.runs, 0)} runs on ${days.length} days)`,
    axis: axisOf(w),
    formatMax: (max) => formatDuration(max),
    bars: days
      .filter((d) => slot.has(d.day))
      .map((d) => ({
        slot: slot.get(d.day)!,
        value: d.maxMs ?? 0,
        color: STATUS_COLORS[worstStatus(d)],
        title: dayTitle(d),
        data: { day: d.day, runs: d.runs, status: worstStatus(d) },
      })),
  });
}

function lastRunCell(j: JobStatus): string {
  if (!j.lastRun) return '<td class="empty">never</td>';
  const took = j.lastRun.durationMs === null ? '' : `, ${formatDuration(j.lastRun.durationMs)}`;
  const why =
    j.lastRun.error && j.lastRun.status !== 'succeeded'
      ? `<br><small>${esc(j.lastRun.error.split('\n')[0])}</small>`
      : '';
  return `<td><span class="status-${esc(j.lastRun.status)}">${esc(j.lastRun.status)}</span> ${esc(j.lastRun.startedAt)}${esc(took)}${why}</td>`;
}

function jobRow(j: JobStatus, data: DashboardData): string {
  const lock = j.lock
    ? `${j.lock.host} pid ${j.lock.pid} since ${j.lock.since}${j.lock.stale ? ' (stale)' : ''}`
    : 'free';
  return (
    `<tr class="job-row" data-job="${esc(j.job)}"><th scope="row">${esc(j.job)}${j.stale ? ' <span class="status-failed">stale</span>' : ''}</th>` +
    `<td>${j.schedule ? `${esc(j.schedule)}<br><small>${esc(j.cron)}</small>` : '<span class="empty">not scheduled</span>'}</td>` +
    lastRunCell(j) +
    `<td>${j.nextRun ? esc(j.nextRun) : '<span class="empty">none</span>'}</td>` +
    `<td>${esc(lock)}</td>` +
    `<td>${j.paused ? esc(j.paused) : 'no'}</td>` +
    `<td class="timeline">${timeline(j.job, data)}</td></tr>`
  );
}

function legend(): string {
  const names: Record<keyof typeof STATUS_COLORS, string> = {
    succeeded: 'succeeded',
    failed: 'failed',
    broken: 'abandoned / cancelled',
    running: 'running',
    skipped: 'skipped only',
  };
  return `<p class="legend">${Object.entries(names)
    .map(([k, v]) => `<span><i class="swatch sw-${k}"></i>${esc(v)}</span>`)
    .join('')} <span>bar height: the day's longest run</span></p>`;
}

function jobsSection(data: DashboardData): string {
  if (!data.jobs.length) return section('jobs', 'Jobs', empty('No job is scheduled and no run is recorded.'));
  const head =
    '<tr><th>Job</th><th>Schedule</th><th>Last run</th><th>Next run</th><th>Lock</th><th>Paused</th><th>Last 30 days</th></tr>';
  const note = data.hasHistory ? '' : empty('No run history yet (the webjobs_runs table does not exist).');
  return section(
    'jobs',
    'Jobs',
    `${note}${legend()}<table class="jobs">${head}${data.jobs.map((j) => jobRow(j, data)).join('')}</table>`,
  );
}

function backupsSection(data: DashboardData): string {
  const b = data.backups;
  const w = b.window;
  const slot = new Map(w.days.map((d, i) => [d, i]));
  const retentionFrom = Math.max(0, w.days.length - Math.max(1, b.retentionDays));
  const band = {
    from: retentionFrom,
    to: w.days.length,
    caption: `retention window: the last ${b.retentionDays} day(s) are kept on disk`,
  };
  const types = [...new Set(b.days.map((d) => d.type))].sort();
  const charts = types.map((type) => {
    const days = b.days.filter((d) => d.type === type && slot.has(d.day));
    const sizes = barChart({
      width: 420,
      height: 120,
      slots: w.days.length,
      label: `${type} backup size per day, last ${w.days.length} days (${days.length} days with backups)`,
      axis: axisOf(w),
      formatMax: formatBytes,
      band,
      bars: days.map((d) => ({
        slot: slot.get(d.day)!,
        value: d.maxBytes ?? 0,
        color: '#4e79a7',
        title: `${type} ${d.day}: ${d.backups} backup(s), largest ${formatBytes(d.maxBytes ?? 0)}`,
        data: { day: d.day, bytes: d.maxBytes ?? 0 },
      })),
    });
    const durations = barChart({
      width: 420,
      height: 120,
      slots: w.days.length,
      label: `${type} backup duration per day, last ${w.days.length} days`,
      axis: axisOf(w),
      formatMax: formatDuration,
      band,
      bars: days.map((d) => ({
        slot: slot.get(d.day)!,
        value: d.avgMs ?? 0,
        color: '#9c755f',
        title: `${type} ${d.day}: mean ${formatDuration(d.avgMs ?? 0)}`,
        data: { day: d.day, ms: Math.round(d.avgMs ?? 0) },
      })),
    });
    return `<div class="backup-type" data-type="${esc(type)}"><h3>${esc(type)}</h3><div class="charts"><figure><figcaption>Size (largest of the day)</figcaption>${sizes}</figure><figure><figcaption>Duration (mean of the day)</figcaption>${durations}</figure></div></div>`;
  });
  const history = charts.length
    ? `<p class="legend"><span><i class="swatch sw-band"></i>retention window (${b.retentionDays} days kept on disk)</span></p>${charts.join('')}`
    : empty(`No successful backup-db run in the last ${w.days.length} days.`);
  return section('backups', 'Backups', `${history}${backupFiles(data)}`);
}

function backupFiles(data: DashboardData): string {
  const { files, dir } = data.backups;
  if (!files.length) return empty(`No backup files in ${dir}.`);
  const rows = [...new Set(files.map((f) => f.type))].map((type) => {
    const of = files.filter((f) => f.type === type);
    const total = of.reduce((s, f) => s + f.bytes, 0);
    return `<tr class="backup-files" data-type="${esc(type)}"><td>${esc(type)}</td><td>${of.length}</td><td>${esc(of[0]!.takenAt)}</td><td>${esc(formatBytes(of[0]!.bytes))}</td><td>${esc(formatBytes(total))}</td></tr>`;
  });
  return `<h3>On disk in ${esc(dir)}</h3><table><tr><th>Type</th><th>Files</th><th>Newest</th><th>Newest size</th><th>Total</th></tr>${rows.join('')}</table>`;
}

function apiSection(data: DashboardData): string {
  if (!data.api) return section('api', 'API traffic', empty('No api_statistics_summary table in this database.'));
  const { window: w, days } = data.api;
  const slot = new Map(w.days.map((d, i) => [d, i]));
  const shown = days.filter((d) => slot.has(d.date));
  if (!shown.length)
    return section('api', 'API traffic', empty(`No api_statistics_summary rows in the last ${w.days.length} days.`));
  const pct = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 10000) / 100 : 0);
  const series = [
    {
      key: 'requests',
      title: 'Requests per day',
      color: '#4e79a7',
      value: (d: (typeof shown)[number]) => d.requests,
      unit: (v: number) => `${v}`,
    },
    {
      key: 'cache-hit',
      title: 'Cache-hit ratio (%)',
      color: '#59a14f',
      value: (d: (typeof shown)[number]) => pct(d.cacheHits, d.requests),
      unit: (v: number) => `${v}%`,
      max: 100,
    },
    {
      key: 'error-rate',
      title: 'Error rate (%, status ≥ 500)',
      color: '#e15759',
      value: (d: (typeof shown)[number]) => pct(d.errors, d.requests),
      unit: (v: number) => `${v}%`,
    },
    {
      key: 'avg-response',
      title: 'Mean response (ms)',
      color: '#f28e2b',
      value: (d: (typeof shown)[number]) => Math.round((d.avgResponseMs ?? 0) * 10) / 10,
      unit: (v: number) => `${v} ms`,
    },
  ];
  const charts = series.map((s) => {
    const svg = lineChart({
      width: 420,
      height: 120,
      slots: w.days.length,
      color: s.color,
      label: `${s.title} over the last ${w.days.length} days (${shown.length} days with figures)`,
      axis: axisOf(w),
      formatMax: s.unit,
      max: s.max,
      points: shown.map((d) => ({
        slot: slot.get(d.date)!,
        value: s.value(d),
        title: `${d.date}: ${s.unit(s.value(d))}`,
      })),
    });
    return `<figure class="api-chart" data-series="${s.key}"><figcaption>${esc(s.title)}</figcaption>${svg}</figure>`;
  });
  return section('api', `API traffic (last ${w.days.length} days)`, `<div class="charts">${charts.join('')}</div>`);
}

function circuitsSection(data: DashboardData): string {
  const c = data.circuits;
  const note = c.enabled ? '' : '<p class="empty">The circuit breaker is disabled (circuit-breaker-enabled = 0).</p>';
  const table = c.platforms.length
    ? `<table><tr><th>Platform</th><th>State</th><th>Consecutive failures</th><th>Success rate</th><th>Opened</th><th>Half-open at</th><th>Last change</th><th>Last failure</th></tr>${c.platforms
        .map(
          (p) =>
            `<tr class="circuit-row" data-platform="${esc(p.platform)}"><td>${esc(p.platform)}</td><td class="state-${esc(p.state)}">${esc(p.state.replace('_', '-'))}</td><td>${p.failure_count}</td><td>${p.success_rate === null ? '-' : `${p.success_rate}%`}</td><td>${esc(p.opened_at ?? '-')}</td><td>${esc(p.half_open_at ?? '-')}</td><td>${esc(p.updatedAt)}</td><td>${esc(p.last_failure ?? '')}</td></tr>`,
        )
        .join('')}</table>`
    : empty('No circuit recorded (warm-cache has not run with the circuit breaker).');
  const transitions = c.transitions.length
    ? `<h3>Last transitions</h3><ul class="transitions">${c.transitions.map((t) => `<li class="transition">warm-cache run of ${esc(t.at)}: ${esc(t.text)}</li>`).join('')}</ul>`
    : '';
  return section('circuits', 'Circuit breakers', `${note}${table}${transitions}`);
}
