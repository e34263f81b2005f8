import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { formatLocalDateTime } from '../util/time.js';
import { Random } from './random.js';

const BLOC_TYPES = ['comment', 'review', 'reaction', 'poll'];

/**
 * A website's own SQLite file as seed 000 keeps it (`users`, `web_blocs`), with rows spread
 * over the last 40 days, so aggregate-stats has per-website figures to compute on the demo.
 * An existing file is left as it is.
 */
export function createDemoWebsiteFile(
  file: string,
  opts: { websiteId: number; users: number; now: Date; timeZone: string },
): boolean {
  if (fs.existsSync(file)) return false;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const r = new Random(1000 + opts.websiteId);
  const at = (msAgo: number) => formatLocalDateTime(new Date(opts.now.getTime() - msAgo), opts.timeZone);
  const DAY = 86_400_000;
  const tmp = `${file}.${process.pid}.tmp`;
  const db = new Database(tmp);
  try {
    db.exec(`CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, created_at TEXT, last_activity_at TEXT, email_verified_at TEXT);
             CREATE TABLE web_blocs (id INTEGER PRIMARY KEY, webbloc_type TEXT, status TEXT, data TEXT, view_count INTEGER DEFAULT 0, interaction_count INTEGER DEFAULT 0,
                                     likes_count INTEGER DEFAULT 0, shares_count INTEGER DEFAULT 0, created_at TEXT, updated_at TEXT);`);
    const user = db.prepare(
      'INSERT INTO users (name, created_at, last_activity_at, email_verified_at) VALUES (?, ?, ?, ?)',
    );
    const bloc = db.prepare(
      'INSERT INTO web_blocs (webbloc_type, status, data, view_count, interaction_count, likes_count, shares_count, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    db.transaction(() => {
      for (let i = 0; i < opts.users; i++) {
        const created = r.int(0, 40 * DAY);
        user.run(
          `user${i}`,
          at(created),
          r.chance(0.7) ? at(r.int(0, Math.min(created, 7 * DAY))) : null,
          r.chance(0.8) ? at(created - 3_600_000) : null,
        );
      }
      for (let i = 0; i < opts.users * 3; i++) {
        const type = r.pick(BLOC_TYPES);
        const created = r.int(0, 40 * DAY);
        const data = type === 'review' ? { rating: r.int(1, 5) } : {};
        bloc.run(
          type,
          r.chance(0.9) ? 'active' : 'hidden',
          JSON.stringify(data),
          r.int(0, 500),
          r.int(0, 80),
          r.int(0, 40),
          r.int(0, 10),
          at(created),
          at(r.int(0, created)),
        );
      }
    })();
  } finally {
    db.close();
  }
  fs.renameSync(tmp, file);
  return true;
}
