import { barChart, escapeXml, hbarChart } from '../../charts/svg.js';
import type { DayCount } from './activity-by-day.js';
import type { Section } from './sections.js';

/**
 * The mail's two charts, as inline SVG (no remote image, nothing for a client to block), each
 * followed by a table with the same numbers: a client that drops SVG, or a reader who cannot
 * see it, still has every figure; the SVG's aria-label carries them too.
 */

const TABLE = 'border-collapse:collapse;margin:4px 0 18px 0;font-family:Arial,Helvetica,sans-serif;font-size:13px';
const CELL = 'border:1px solid #ccc;padding:3px 8px';
const H3 = 'font-family:Arial,Helvetica,sans-serif;margin:18px 0 6px 0';

function numbersTable(caption: string, head: [string, string], rows: [string, number][]): string {
  const body = rows
    .map(([k, v]) => `<tr><td style="${CELL}">${escapeXml(k)}</td><td style="${CELL};text-align:right">${v}</td></tr>`)
    .join('');
  return `<table style="${TABLE}" summary="${escapeXml(caption)}"><tr><th style="${CELL};background:#f2f2f2;text-align:left">${escapeXml(head[0])}</th><th style="${CELL};background:#f2f2f2;text-align:left">${escapeXml(head[1])}</th></tr>${body}</table>`;
}

export function activityByDayChart(days: DayCount[]): string {
  const total = days.reduce((s, d) => s + d.count, 0);
  const label = `Activity by day: ${days.map((d) => `${d.day} ${d.count}`).join(', ')} (total ${total})`;
  const svg = barChart({
    width: Math.max(240, days.length * 28 + 8),
    height: 120,
    slots: days.length,
    label,
    axis: [days[0]?.day ?? '', days.at(-1)?.day ?? ''],
    formatMax: (max) => String(max),
    bars: days.map((d, i) => ({
      slot: i,
      value: d.count,
      color: '#4e79a7',
      title: `${d.day}: ${d.count}`,
      data: { day: d.day, count: d.count },
    })),
  });
  return `<h3 style="${H3}">Activity by Day</h3><div class="chart">${svg}</div>${numbersTable(
    label,
    ['Day', 'Activities'],
    days.map((d) => [d.day, d.count]),
  )}`;
}

/** From the report's own "Activity by Type" section (its table follows further down the mail). */
export function activityByTypeChart(section: Section | undefined): string {
  if (!section?.available || !section.rows.length) return '';
  const bars = section.rows.map((r) => ({
    label: String(r.activity_type ?? ''),
    value: Number(r.count ?? 0),
    color: '#59a14f',
  }));
  const label = `Activity by type: ${bars.map((b) => `${b.label} ${b.value}`).join(', ')}`;
  return `<h3 style="${H3}">Activity by Type (chart)</h3><div class="chart">${hbarChart({ width: 480, bars, label })}</div><p style="font-size:12px;color:#555">${escapeXml(label)}</p>`;
}
