import Database from 'better-sqlite3';
import type { Db } from '../../src/db/types.js';
import { insertRows } from '../../src/demo/insert.js';

export interface Req {
  widget_id: number;
  platform: string;
  status_code: number;
  response_time_ms: number;
  cache_hit: number;
  created_at: string;
}

/** A small deterministic generator (mulberry32), so every run has the same fixture. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `perDay` requests on each day, spread over the whole day including its first and last second. */
export function generateRequests(days: Record<string, number>, seed = 7): Req[] {
  const r = rng(seed);
  const out: Req[] = [];
  const pad = (n: number) => String(n).padStart(2, '0');
  for (const [day, count] of Object.entries(days)) {
    for (let i = 0; i < count; i++) {
      const secs = i === 0 ? 0 : i === 1 ? 86399 : Math.floor(r() * 86400);
      const time = `${pad(Math.floor(secs / 3600))}:${pad(Math.floor(secs / 60) % 60)}:${pad(secs % 60)}`;
      const x = r();
      out.push({
        widget_id: 1 + Math.floor(r() * r() * 40),
        platform: ['web', 'ios', 'android'][Math.floor(r() * 3)]!,
        status_code: x < 0.05 ? 500 : x < 0.08 ? 503 : x < 0.12 ? 404 : x < 0.13 ? 499 : 200,
        response_time_ms: 5 + Math.floor(r() * 300),
        cache_hit: r() < 0.6 ? 1 : 0,
        created_at: `${day} ${time}`,
      });
    }
  }
  return out;
}

export async function insertRequests(db: Db, rows: Req[]): Promise<void> {
  await insertRows(
    db,
    'api_requests',
    ['widget_id', 'platform', 'status_code', 'response_time_ms', 'cache_hit', 'created_at'],
    rows.map((q) => [q.widget_id, q.platform, q.status_code, q.response_time_ms, q.cache_hit, q.created_at]),
  );
}

/** What the summary row of `day` must hold, computed in JavaScript from the fixture itself. */
export function expectedDay(rows: Req[], day: string) {
  const d = rows.filter((q) => q.created_at.startsWith(day));
  const sum = d.reduce((s, q) => s + q.response_time_ms, 0);
  return {
    date: day,
    total_requests: d.length,
    cache_hits: d.filter((q) => q.cache_hit).length,
    error_count: d.filter((q) => q.status_code >= 500).length,
    avg_response_ms: d.length ? Math.round((sum / d.length) * 100) / 100 : null,
    max_response_ms: d.length ? Math.max(...d.map((q) => q.response_time_ms)) : null,
    unique_widgets: new Set(d.map((q) => q.widget_id)).size,
  };
}

/** A website's own SQLite file with seed 000's users and web_blocs tables. */
export function createSiteFile(
  file: string,
  opts: {
    day: string;
    users: number;
    blocs: Array<{
      type: string;
      status: string;
      created: string;
      updated: string;
      views: number;
      interactions: number;
      likes: number;
      shares: number;
      rating?: number;
    }>;
  },
): void {
  const db = new Database(file);
  db.exec(`CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, created_at TEXT, last_activity_at TEXT, email_verified_at TEXT);
           CREATE TABLE web_blocs (id INTEGER PRIMARY KEY, webbloc_type TEXT, status TEXT, data TEXT, view_count INTEGER DEFAULT 0, interaction_count INTEGER DEFAULT 0,
                                   likes_count INTEGER DEFAULT 0, shares_count INTEGER DEFAULT 0, created_at TEXT, updated_at TEXT);`);
  const u = db.prepare('INSERT INTO users (name, created_at, last_activity_at, email_verified_at) VALUES (?, ?, ?, ?)');
  for (let i = 0; i < opts.users; i++) {
    u.run(
      `u${i}`,
      i % 3 === 0 ? `${opts.day} 10:00:00` : '2026-01-01 10:00:00',
      i % 2 === 0 ? `${opts.day} 23:59:59` : null,
      i % 4 === 0 ? null : '2026-01-02 00:00:00',
    );
  }
  const b = db.prepare(
    'INSERT INTO web_blocs (webbloc_type, status, data, view_count, interaction_count, likes_count, shares_count, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  for (const x of opts.blocs)
    b.run(
      x.type,
      x.status,
      JSON.stringify(x.rating === undefined ? {} : { rating: x.rating }),
      x.views,
      x.interactions,
      x.likes,
      x.shares,
      x.created,
      x.updated,
    );
  db.close();
}
