import { periodTitle } from '../../jobs/export-report/period.js';
import type { ReportDocument } from '../../jobs/export-report/render.js';
import type { Section, SectionRow } from '../../jobs/export-report/sections.js';

/** The report mail (the seed's): its subject, a plain-text body and an HTML body; the report itself is attached. */
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

function escapeHtml(value: unknown): string {
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

/** The HTML body: the summary metrics and every top list as tables. */
export function mailHtml(doc: ReportDocument): string {
  const heading = `User Activity Report - ${periodTitle(doc.period.period)}`;
  return [
    '<!DOCTYPE html>',
    `<html><head><meta charset="utf-8"><title>${escapeHtml(heading)}</title></head>`,
    '<body style="font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#222">',
    `<h2>${escapeHtml(heading)}</h2>`,
    `<p>Period: <strong>${escapeHtml(doc.period.from)}</strong> to <strong>${escapeHtml(doc.period.to)}</strong><br>Generated: ${escapeHtml(doc.generatedAt)} (${escapeHtml(doc.timeZone)})</p>`,
    ...doc.sections.map(sectionHtml),
    '<p>Please find the detailed report attached.</p>',
    `<p>Best regards,<br>${escapeHtml(doc.appName)} System</p>`,
    '</body></html>',
    '',
  ].join('\n');
}
