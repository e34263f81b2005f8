import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createReferenceSchema } from '../../src/db/schema.js';
import type { Db } from '../../src/db/types.js';

/** The injected "now" of every test here: 2026-11-25 03:00:00 in the app's time zone (UTC). */
export const NOW = '2026-11-25T03:00:00Z';
export const NOW_MS = Date.parse(NOW);
const DAY = 86_400_000;

export const localAgo = (ms: number) => new Date(NOW_MS - ms).toISOString().slice(0, 19).replace('T', ' ');
export const daysAgo = (d: number) => localAgo(d * DAY);

/** Extra tables for the retention rules (seed 001's policy), in both dialects. */
async function createPolicyTables(db: Db): Promise<void> {
  const id =
    db.dialect === 'sqlite' ? 'INTEGER PRIMARY KEY AUTOINCREMENT' : 'BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY';
  const dt = db.dialect === 'sqlite' ? 'TEXT' : 'DATETIME';
  const str = db.dialect === 'sqlite' ? 'TEXT' : 'VARCHAR(64)';
  await db.execute(`CREATE TABLE jobs (id ${id}, status ${str} NOT NULL, completed_at ${dt})`);
  await db.execute(
    `CREATE TABLE notifications (id ${id}, is_read INTEGER NOT NULL DEFAULT 0, archived INTEGER NOT NULL DEFAULT 0, created_at ${dt})`,
  );
  await db.execute(`CREATE TABLE audit_logs (id ${id}, severity ${str}, created_at ${dt})`);
}

export interface StatRow {
  website_id: number;
  date: string;
  created_at: string;
  statistics_data: string | null;
}

/** Statistics rows: daily per website, with JSON that is sometimes odd (strings, missing members, nulls). */
export function statisticsRows(): StatRow[] {
  const rows: StatRow[] = [];
  const add = (website: number, from: string, to: string, data: (i: number) => string | null) => {
    let i = 0;
    for (let d = Date.parse(`${from}T00:00:00Z`); d <= Date.parse(`${to}T00:00:00Z`); d += DAY, i++) {
      const date = new Date(d).toISOString().slice(0, 10);
      rows.push({ website_id: website, date, created_at: `${date} 03:00:00`, statistics_data: data(i) });
    }
  };
  // Website 1: plain numbers, Aug 2025 to Dec 2025 (crosses the retention cutoff 2025-11-25 03:00).
  add(1, '2025-08-20', '2025-12-10', (i) =>
    JSON.stringify({
      api_calls_today: 100 + (i % 17),
      average_response_time: 120.25 + (i % 7) * 3.1,
      page_views_today: 1000 + i,
      total_users: 50 + i,
    }),
  );
  // Website 2: numbers written as strings, missing members, JSON nulls.
  add(2, '2025-09-03', '2025-10-31', (i) =>
    i % 5 === 0
      ? JSON.stringify({ api_calls_today: String(20 + i), total_users: null })
      : JSON.stringify({
          api_calls_today: 20 + i,
          average_response_time: String(80.5 + i),
          page_views_today: 300 + i * 2,
          total_users: 10 + (i % 9),
        }),
  );
  return rows;
}

export async function insertStatistics(db: Db, rows: StatRow[]): Promise<void> {
  for (const r of rows) {
    await db.execute(
      'INSERT INTO website_statistics (website_id, date, statistics_data, created_at, updated_at) VALUES (?, ?, ?, ?, ?)',
      [r.website_id, r.date, r.statistics_data, r.created_at, r.created_at],
    );
  }
}

/**
 * The reference schema plus rows around every threshold: each step has rows it must change and
 * rows it must leave alone (an active key used yesterday, a verified site, a statistics row one
 * day inside retention…).
 */
export async function buildFixture(db: Db): Promise<void> {
  await createReferenceSchema(db);
  await createPolicyTables(db);
  const key = (
    id: number,
    status: string,
    expires: string | null,
    lastUsed: string | null,
    created: string,
    deactAt: string | null = null,
    reason: string | null = null,
  ) =>
    db.execute(
      'INSERT INTO api_keys (id, website_id, status, expires_at, last_used_at, created_at, deactivated_at, deactivated_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      [id, 1, status, expires, lastUsed, created, deactAt, reason],
    );
  await key(1, 'active', daysAgo(5), daysAgo(6), daysAgo(400)); // expired → expired
  await key(2, 'expired', daysAgo(50), null, daysAgo(400), daysAgo(49), 'Automatic cleanup - expired'); // already expired: untouched
  await key(3, 'revoked', daysAgo(5), daysAgo(100), daysAgo(400), daysAgo(60), 'compromised'); // expired, keeps its revocation record
  await key(4, 'active', null, daysAgo(1), daysAgo(400)); // used yesterday: untouched
  await key(5, 'active', null, daysAgo(116), daysAgo(400)); // idle → inactive
  await key(6, 'active', null, null, daysAgo(328)); // never used, old → inactive
  await key(7, 'active', null, null, daysAgo(24)); // never used, new: untouched
  await key(8, 'inactive', null, daysAgo(500), daysAgo(600), daysAgo(410), 'Automatic cleanup - 90 days inactive'); // untouched
  await key(9, 'revoked', null, daysAgo(700), daysAgo(800), daysAgo(650), 'owner request'); // the seed's orWhere would catch it: untouched
  await key(10, 'active', null, daysAgo(89), daysAgo(400)); // 89 days: untouched
  await key(11, 'active', '2027-01-01 00:00:00', daysAgo(200), daysAgo(400)); // idle, not expired → inactive
  await key(12, 'active', null, localAgo(90 * 86_400_000 + 1000), daysAgo(400)); // 90 days and a second → inactive

  const site = (id: number, status: string, token: string | null, expires: string | null) =>
    db.execute(
      'INSERT INTO websites (id, name, domain, status, verification_token, verification_expires_at) VALUES (?, ?, ?, ?, ?, ?)',
      [id, `site ${id}`, `s${id}.example.test`, status, token, expires],
    );
  await site(1, 'pending', 'tok-1', daysAgo(5)); // → verification_expired
  await site(2, 'verified', 'tok-2', daysAgo(5)); // verified: untouched
  await site(3, 'pending', 'tok-3', '2026-12-01 00:00:00'); // not expired: untouched
  await site(4, 'pending', null, daysAgo(5)); // no token: untouched
  await site(5, 'active', 'tok-5', daysAgo(1)); // → verification_expired

  await insertStatistics(db, statisticsRows());
  // Website 3: a September summary exists already and covers only 2 of the 5 rows now there.
  await db.execute(
    'INSERT INTO website_statistics_monthly (website_id, year, month, summary_data) VALUES (?, ?, ?, ?)',
    [3, 2025, 9, JSON.stringify({ record_count: 2, avg_api_calls: 1 })],
  );
  await insertStatistics(
    db,
    [1, 2, 3, 4, 5].map((d) => ({
      website_id: 3,
      date: `2025-09-0${d}`,
      created_at: `2025-09-0${d} 12:00:00`,
      statistics_data: '{"api_calls_today": 1}',
    })),
  );
  // Website 4: a run summarized October (3 rows) and stopped after deleting one: the other two go.
  await db.execute(
    'INSERT INTO website_statistics_monthly (website_id, year, month, summary_data) VALUES (?, ?, ?, ?)',
    [4, 2025, 10, JSON.stringify({ record_count: 3, avg_api_calls: 7 })],
  );
  await insertStatistics(
    db,
    [2, 3].map((d) => ({
      website_id: 4,
      date: `2025-10-0${d}`,
      created_at: `2025-10-0${d} 12:00:00`,
      statistics_data: '{"api_calls_today": 7}',
    })),
  );
  // Website 5: malformed JSON counts as a record with no values; it must not break the summary.
  await insertStatistics(db, [
    { website_id: 5, date: '2025-07-01', created_at: '2025-07-01 08:00:00', statistics_data: '{not json' },
    { website_id: 5, date: '2025-07-02', created_at: '2025-07-02 08:00:00', statistics_data: null },
  ]);
  // One day inside the retention (and in the cutoff's month): untouched.
  await insertStatistics(db, [
    { website_id: 6, date: '2025-11-26', created_at: daysAgo(364), statistics_data: '{"api_calls_today": 5}' },
  ]);

  const now = Math.floor(NOW_MS / 1000);
  for (const [id, last] of [
    ['s-old', now - 31 * 86400],
    ['s-new', now - 29 * 86400],
    ['s-ancient', now - 400 * 86400],
  ] as const) {
    await db.execute('INSERT INTO sessions (id, user_id, payload, last_activity) VALUES (?, ?, ?, ?)', [
      id,
      1,
      'x',
      last,
    ]);
  }
  for (const [name, expires] of [
    ['expired', daysAgo(1)],
    ['future', '2027-01-01 00:00:00'],
    ['never', null],
  ] as const) {
    await db.execute('INSERT INTO personal_access_tokens (name, expires_at) VALUES (?, ?)', [name, expires]);
  }

  for (const [status, completed] of [
    ['COMPLETED', daysAgo(40)],
    ['FAILED', daysAgo(31)],
    ['RUNNING', daysAgo(40)],
    ['COMPLETED', daysAgo(29)],
    ['PENDING', null],
  ] as const) {
    await db.execute('INSERT INTO jobs (status, completed_at) VALUES (?, ?)', [status, completed]);
  }
  for (const [read, created] of [
    [1, daysAgo(61)],
    [0, daysAgo(61)],
    [1, daysAgo(59)],
  ] as const) {
    await db.execute('INSERT INTO notifications (is_read, created_at) VALUES (?, ?)', [read, created]);
  }
  for (const [severity, created] of [
    ['info', daysAgo(400)],
    ['critical', daysAgo(400)],
    [null, daysAgo(400)],
    ['info', daysAgo(300)],
  ] as const) {
    await db.execute('INSERT INTO audit_logs (severity, created_at) VALUES (?, ?)', [severity, created]);
  }
}

/** Seed 001's policy as `retention.rules` (the same example as docs/cleanup-tokens.md, on the fixture's tables). */
export const POLICY_RULES = [
  {
    name: 'jobs',
    table: 'jobs',
    column: 'completed_at',
    days: 30,
    where: { column: 'status', op: 'in', value: ['COMPLETED', 'FAILED'] },
  },
  {
    name: 'read-notifications',
    table: 'notifications',
    column: 'created_at',
    days: 60,
    where: { column: 'is_read', op: '=', value: true },
    action: 'set',
    set: { archived: 1 },
  },
  {
    name: 'audit-logs',
    table: 'audit_logs',
    column: 'created_at',
    days: 365,
    where: [
      { column: 'severity', op: 'is not null' },
      { column: 'severity', op: '!=', value: 'critical' },
    ],
  },
];

/** Temp folders around the clock's 24-hour line, plus traps: a symlink out, a sub-folder, a missing folder. */
export function buildTempFiles(root: string): { outside: string; expectRemoved: string[]; expectKept: string[] } {
  const set = (file: string, ageMs: number) => {
    const t = new Date(NOW_MS - ageMs);
    fs.utimesSync(file, t, t);
  };
  const temp = path.join(root, 'storage/app/temp');
  const exports = path.join(root, 'storage/app/exports');
  fs.mkdirSync(temp, { recursive: true });
  fs.mkdirSync(exports, { recursive: true });
  const outsideDir = path.join(root, 'outside');
  fs.mkdirSync(outsideDir);
  const outside = path.join(outsideDir, 'precious.txt');
  fs.writeFileSync(outside, 'do not delete');
  set(outside, 10 * DAY);
  const write = (file: string, ageMs: number) => {
    fs.writeFileSync(file, 'x'.repeat(100));
    set(file, ageMs);
    return file;
  };
  const removed = [
    write(path.join(temp, 'old.tmp'), 2 * DAY),
    write(path.join(temp, 'just-over.tmp'), DAY + 1000),
    write(path.join(exports, 'report.csv'), 3 * DAY),
  ];
  const kept = [write(path.join(temp, 'fresh.tmp'), 3600_000), write(path.join(exports, 'today.csv'), 60_000)];
  fs.symlinkSync(outside, path.join(temp, 'link-out'));
  fs.symlinkSync(outsideDir, path.join(temp, 'dir-link'));
  const sub = path.join(temp, 'sub');
  fs.mkdirSync(sub);
  kept.push(write(path.join(sub, 'nested-old.tmp'), 5 * DAY));
  set(sub, 5 * DAY);
  set(temp, 5 * DAY);
  // storage/logs/old does not exist: skipped.
  return {
    outside,
    expectRemoved: removed,
    expectKept: [...kept, outside, path.join(temp, 'link-out'), path.join(temp, 'dir-link'), sub, temp],
  };
}

/** Every file under `root` with its size, mtime and content hash (symlinks as their target text). */
export function snapshotFiles(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const p = path.join(dir, name);
      const st = fs.lstatSync(p);
      if (st.isSymbolicLink()) out[p] = `link:${fs.readlinkSync(p)}`;
      else if (st.isDirectory()) {
        out[p] = `dir:${st.mtimeMs}`;
        walk(p);
      } else
        out[p] =
          `file:${st.size}:${st.mtimeMs}:${crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex')}`;
    }
  };
  walk(root);
  return out;
}
