import { stringify } from 'csv-stringify/sync';
import type { ReportPeriod } from './period.js';
import { periodTitle } from './period.js';
import type { Section } from './sections.js';

export interface ReportDocument {
  period: ReportPeriod;
  /** Local date-time the report was made. */
  generatedAt: string;
  timeZone: string;
  appName: string;
  sections: Section[];
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
