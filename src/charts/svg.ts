/**
 * Small charts drawn as inline SVG text on the server: no script, no library, nothing fetched,
 * so the same markup works in a page under a strict Content-Security-Policy and in a mail body.
 * Only presentation attributes are used (no `style=`): a CSP without 'unsafe-inline' for
 * attributes still renders them. Every chart carries `role="img"` and an `aria-label`, and each
 * bar or point a `<title>` with its numbers, for screen readers and hover.
 */

export function escapeXml(value: unknown): string {
  return String(value ?? '').replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] as string,
  );
}

export interface Bar {
  /** Index of the slot the bar stands in (e.g. the day within the window). */
  slot: number;
  value: number;
  color: string;
  /** Hover / screen-reader text with the bar's numbers. */
  title: string;
  /** Extra data-* attributes (names without the prefix), for tests and tooling. */
  data?: Record<string, string | number>;
}

export interface BarChartSpec {
  width: number;
  height: number;
  /** How many slots the x axis has (bars may leave some empty). */
  slots: number;
  bars: Bar[];
  label: string;
  /** Labels under the first and last slot. */
  axis?: [string, string];
  /** The largest value (top of the axis) as text. */
  formatMax?: (max: number) => string;
  /** A shaded range of slots [from, to) behind the bars, with its caption (e.g. a retention window). */
  band?: { from: number; to: number; caption: string };
}

const AXIS = '#888';
const TEXT = '#555';
const FONT = 'font-family="Arial,Helvetica,sans-serif" font-size="10"';

const round = (n: number) => Math.round(n * 10) / 10;

function dataAttrs(data: Record<string, string | number> | undefined): string {
  if (!data) return '';
  return Object.entries(data)
    .map(([k, v]) => ` data-${k}="${escapeXml(v)}"`)
    .join('');
}

function frame(spec: { width: number; height: number; label: string }, cls: string, body: string): string {
  return (
    `<svg class="chart ${cls}" xmlns="http://www.w3.org/2000/svg" width="${spec.width}" height="${spec.height}" ` +
    `viewBox="0 0 ${spec.width} ${spec.height}" role="img" aria-label="${escapeXml(spec.label)}">` +
    `<title>${escapeXml(spec.label)}</title>${body}</svg>`
  );
}

const PAD = { left: 4, right: 4, top: 14, bottom: 14 };

function axisText(spec: { width: number; height: number }, axis: [string, string] | undefined, top: string): string {
  const y = spec.height - 3;
  let out = `<line x1="${PAD.left}" y1="${spec.height - PAD.bottom}" x2="${spec.width - PAD.right}" y2="${spec.height - PAD.bottom}" stroke="${AXIS}" stroke-width="1"/>`;
  if (top) out += `<text x="${PAD.left}" y="10" ${FONT} fill="${TEXT}">${escapeXml(top)}</text>`;
  if (axis) {
    out += `<text x="${PAD.left}" y="${y}" ${FONT} fill="${TEXT}">${escapeXml(axis[0])}</text>`;
    out += `<text x="${spec.width - PAD.right}" y="${y}" ${FONT} fill="${TEXT}" text-anchor="end">${escapeXml(axis[1])}</text>`;
  }
  return out;
}

/** Vertical bars in fixed slots; height in proportion to the value (a non-zero value stays visible). */
export function barChart(spec: BarChartSpec): string {
  const plotW = spec.width - PAD.left - PAD.right;
  const plotH = spec.height - PAD.top - PAD.bottom;
  const slotW = plotW / Math.max(1, spec.slots);
  const max = Math.max(0, ...spec.bars.map((b) => b.value));
  let body = '';
  if (spec.band && spec.band.to > spec.band.from) {
    const x = PAD.left + spec.band.from * slotW;
    body += `<rect class="band" x="${round(x)}" y="${PAD.top}" width="${round((spec.band.to - spec.band.from) * slotW)}" height="${plotH}" fill="#e8f1fb"><title>${escapeXml(spec.band.caption)}</title></rect>`;
  }
  for (const b of spec.bars) {
    const h = max > 0 ? Math.max(1, (b.value / max) * plotH) : 1;
    const x = PAD.left + b.slot * slotW + slotW * 0.1;
    body +=
      `<rect class="bar"${dataAttrs(b.data)} x="${round(x)}" y="${round(PAD.top + plotH - h)}" ` +
      `width="${round(Math.max(1, slotW * 0.8))}" height="${round(h)}" fill="${b.color}"><title>${escapeXml(b.title)}</title></rect>`;
  }
  body += axisText(spec, spec.axis, spec.formatMax && max > 0 ? spec.formatMax(max) : '');
  return frame(spec, 'bar-chart', body);
}

export interface LinePoint {
  slot: number;
  value: number;
  title: string;
}

export interface LineChartSpec {
  width: number;
  height: number;
  slots: number;
  points: LinePoint[];
  label: string;
  color: string;
  axis?: [string, string];
  formatMax?: (max: number) => string;
  /** A fixed top of the axis (e.g. 100 for percentages); else the largest value. */
  max?: number;
}

/** A line through the points (gaps where slots have no value are bridged), one marker per point. */
export function lineChart(spec: LineChartSpec): string {
  const plotW = spec.width - PAD.left - PAD.right;
  const plotH = spec.height - PAD.top - PAD.bottom;
  const step = spec.slots > 1 ? plotW / (spec.slots - 1) : 0;
  const max = spec.max ?? Math.max(0, ...spec.points.map((p) => p.value));
  const xy = (p: LinePoint) => [
    round(PAD.left + (spec.slots > 1 ? p.slot * step : plotW / 2)),
    round(PAD.top + plotH - (max > 0 ? (p.value / max) * plotH : 0)),
  ];
  let body = '';
  if (spec.points.length > 1)
    body += `<polyline fill="none" stroke="${spec.color}" stroke-width="1.5" points="${spec.points.map((p) => xy(p).join(',')).join(' ')}"/>`;
  for (const p of spec.points) {
    const [x, y] = xy(p);
    body += `<circle class="pt" cx="${x}" cy="${y}" r="2" fill="${spec.color}"><title>${escapeXml(p.title)}</title></circle>`;
  }
  body += axisText(spec, spec.axis, spec.formatMax && max > 0 ? spec.formatMax(max) : '');
  return frame(spec, 'line-chart', body);
}

export interface HBar {
  label: string;
  value: number;
  color: string;
}

/** Horizontal bars with their label and value written beside them (readable without colour). */
export function hbarChart(spec: { width: number; bars: HBar[]; label: string }): string {
  const row = 18;
  const labelW = 120;
  const valueW = 60;
  const height = Math.max(1, spec.bars.length) * row + 4;
  const plotW = spec.width - labelW - valueW;
  const max = Math.max(0, ...spec.bars.map((b) => b.value));
  let body = '';
  spec.bars.forEach((b, i) => {
    const y = 2 + i * row;
    const w = max > 0 ? Math.max(1, (b.value / max) * plotW) : 1;
    body += `<text x="${labelW - 6}" y="${y + 12}" ${FONT} fill="${TEXT}" text-anchor="end">${escapeXml(b.label)}</text>`;
    body += `<rect class="bar" x="${labelW}" y="${y + 2}" width="${round(w)}" height="${row - 6}" fill="${b.color}"><title>${escapeXml(`${b.label}: ${b.value}`)}</title></rect>`;
    body += `<text x="${round(labelW + w + 4)}" y="${y + 12}" ${FONT} fill="${TEXT}">${escapeXml(b.value)}</text>`;
  });
  return frame({ width: spec.width, height, label: spec.label }, 'hbar-chart', body);
}
