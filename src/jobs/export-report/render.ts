import { stringify } from 'csv-stringify/sync';
import type { ReportPeriod } from './period.js';
import { periodTitle } from './period.js';
import type { Section, SectionRow } from './sections.js';
import type { DayCount } from './activity-by-day.js';
import { activityByDayChart, activityByTypeChart } from './mail-charts.js';

export interface ReportDocument {
  period: ReportPeriod;
  /** Local date-time the report was made. */
  generatedAt: string;
  timeZone: string;
  appName: string;
  sections: Section[];
  /** Activities per day of the period, for the mail's chart (null: no activity table). */
  activityByDay?: DayCount[] | null;
}

/**
 * A text cell that a spreadsheet would read as a formula (it begins with `=`, `+`, `-`, `@`,
 * a tab or a carriage return) gets a leading apostrophe, so Excel and LibreOffice show it as
 * text. Numbers are written as numbers and never touched: -5 stays -5.
 */
export function neutralizeCell(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

const CSV_OPTIONS = {
  record_delimiter: 'windows' as const, // RFC 4180: CRLF
  quoted_match: /[\r\n]/, // a line break inside a cell is always quoted (commas and quotes are by default)
  cast: {
    string: (v: string) => neutralizeCell(v),
    number: (v: number) => String(v),
    boolean: (v: boolean) => (v ? '1' : '0'),
  },
};

/** One section as CSV records: a title row, a header row, its rows, a blank line. */
export function sectionRecords(section: Section): unknown[][] {
  const records: unknown[][] = [[section.title]];
  if (!section.available) {
    records.push([`Unavailable: ${section.reason ?? 'unknown reason'}`]);
    records.push([]);
    return records;
  }
  for (const note of section.notes) records.push([note]);
  records.push(section.columns.map((c) => c.label));
  for (const row of section.rows) records.push(section.columns.map((c) => row[c.key] ?? null));
  records.push([]);
  return records;
}

/** The whole report as CSV text: UTF-8 BOM (so Excel picks UTF-8), a preamble, then each section. */
export function renderCsv(doc: ReportDocument): string {
  const head: unknown[][] = [
    [`User Activity Report - ${periodTitle(doc.period.period)}`],
    ['Period', `${doc.period.from} to ${doc.period.to}`],
    ['Generated', doc.generatedAt],
    [],
  ];
  let out = '\ufeff' + stringify(head, CSV_OPTIONS);
  for (const s of doc.sections) out += stringify(sectionRecords(s), CSV_OPTIONS);
  return out;
}

/** The same sections as one JSON document, for other tools. */
export function renderJson(doc: ReportDocument): string {
  return (
    JSON.stringify(
      {
        report: 'user_activity',
        period: doc.period.period,
        from: doc.period.from,
        to: doc.period.to,
        toExclusive: true,
        generatedAt: doc.generatedAt,
        timeZone: doc.timeZone,
        sections: doc.sections.map((s) => ({
          id: s.id,
          title: s.title,
          available: s.available,
          ...(s.reason ? { reason: s.reason } : {}),
          ...(s.notes.length ? { notes: s.notes } : {}),
          ...(s.truncated ? { truncated: true } : {}),
          columns: s.columns.map((c) => ({ key: c.key, label: c.label, type: c.type })),
          rows: s.rows,
        })),
      },
      null,
      2,
    ) + '\n'
  );
}

export function mailSubject(doc: ReportDocument): string {
  return `User Activity Report - ${periodTitle(doc.period.period)}`;
}

/** The seed's plain-text body. */
export function mailText(doc: ReportDocument): string {
  return [
    `User Activity Report - ${periodTitle(doc.period.period)}`,
    '',
    `Period: ${doc.period.from} to ${doc.period.to}`,
    `Generated: ${doc.generatedAt}`,
    '',
    ...summaryLines(doc),
    'Please find the detailed report attached.',
    '',
    'Best regards,',
    `${doc.appName} System`,
  ].join('\n');
}

function summaryLines(doc: ReportDocument): string[] {
  const summary = doc.sections.find((s) => s.id === 'summary');
  if (!summary?.available || !summary.rows.length) return [];
  return [...summary.rows.map((r) => `${String(r.metric)}: ${String(r.value)}`), ''];
}

export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] as string,
  );
}

const TABLE = 'border-collapse:collapse;margin:0 0 18px 0;font-family:Arial,Helvetica,sans-serif;font-size:13px';
const TH = 'border:1px solid #ccc;background:#f2f2f2;padding:4px 8px;text-align:left';
const TD = 'border:1px solid #ccc;padding:4px 8px';
const TD_NUM = `${TD};text-align:right`;

function cellHtml(row: SectionRow, key: string, numeric: boolean): string {
  const v = row[key];
  return `<td style="${numeric ? TD_NUM : TD}">${escapeHtml(v === null || v === undefined ? '' : v)}</td>`;
}

/** How many rows of a long section the mail shows (the attachment has them all). */
const HTML_ROW_LIMIT = 20;

function sectionHtml(s: Section): string {
  const title = `<h3 style="font-family:Arial,Helvetica,sans-serif;margin:18px 0 6px 0">${escapeHtml(s.title)}</h3>`;
  if (!s.available) return `${title}<p><em>Unavailable: ${escapeHtml(s.reason)}</em></p>`;
  const notes = s.notes.map((n) => `<p><em>${escapeHtml(n)}</em></p>`).join('');
  if (!s.rows.length) return `${title}${notes}<p><em>No data in this period.</em></p>`;
  const head = `<tr>${s.columns.map((c) => `<th style="${TH}">${escapeHtml(c.label)}</th>`).join('')}</tr>`;
  const shown = s.rows.slice(0, HTML_ROW_LIMIT);
  const body = shown
    .map((r) => `<tr>${s.columns.map((c) => cellHtml(r, c.key, c.type !== 'text')).join('')}</tr>`)
    .join('\n');
  const more =
    s.rows.length > shown.length ? `<p><em>${s.rows.length - shown.length} more in the attached report.</em></p>` : '';
  return `${title}${notes}<table style="${TABLE}">${head}\n${body}</table>${more}`;
}

/** The HTML body: charts of the period's activity (each with its numbers), the summary metrics and every top list as tables. */
export function mailHtml(doc: ReportDocument): string {
  const heading = `User Activity Report - ${periodTitle(doc.period.period)}`;
  return [
    '<!DOCTYPE html>',
    `<html><head><meta charset="utf-8"><title>${escapeHtml(heading)}</title></head>`,
    '<body style="font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#222">',
    `<h2>${escapeHtml(heading)}</h2>`,
    `<p>Period: <strong>${escapeHtml(doc.period.from)}</strong> to <strong>${escapeHtml(doc.period.to)}</strong><br>Generated: ${escapeHtml(doc.generatedAt)} (${escapeHtml(doc.timeZone)})</p>`,
    doc.activityByDay ? activityByDayChart(doc.activityByDay) : '',
    activityByTypeChart(doc.sections.find((s) => s.id === 'activity_by_type')),
    ...doc.sections.map(sectionHtml),
    '<p>Please find the detailed report attached.</p>',
    `<p>Best regards,<br>${escapeHtml(doc.appName)} System</p>`,
    '</body></html>',
    '',
  ].join('\n');
}
