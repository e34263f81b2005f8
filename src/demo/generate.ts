import type { Db } from '../db/types.js';
import { formatLocalDateTime, formatLocalDate } from '../util/time.js';
import { insertRows } from './insert.js';
import { Random } from './random.js';

interface DemoOptions {
  /** Rows of api_requests (the other tables scale from it). */
  rows: number;
  now: Date;
  timeZone: string;
  seed?: number;
}

const PLATFORMS = ['web', 'ios', 'android', 'partner-api'];
const ACTIVITY_TYPES = ['login', 'logout', 'login_failed', 'watch_movie', 'watch_series', 'search'];
const WORDS = [
  'star',
  'night',
  'river',
  'city',
  'dragon',
  'ghost',
  'summer',
  'last',
  'silent',
  'iron',
  'blue',
  'wild',
  'hidden',
  'empire',
  'storm',
  'garden',
];
const SEARCHES = [
  'action',
  'comedy',
  'thriller',
  'anime',
  'korean drama',
  'marvel',
  'horror 2024',
  'documentary',
  'romance',
  'sci-fi',
];

function title(r: Random): string {
  const n = r.int(1, 3);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(r.pick(WORDS));
  const s = parts.join(' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Fills the reference schema with realistic generated data, spread over the last 40 days. */
export async function generateDemoData(db: Db, opts: DemoOptions): Promise<Record<string, number>> {
  const r = new Random(opts.seed ?? 42);
  const tz = opts.timeZone;
  const nowMs = opts.now.getTime();
  const DAY = 86_400_000;
  const at = (msAgo: number) => formatLocalDateTime(new Date(nowMs - msAgo), tz);
  const counts: Record<string, number> = {};
  const users = Math.max(20, Math.round(opts.rows / 20));
  const movies = Math.max(20, Math.round(opts.rows / 100));
  const series = Math.max(10, Math.round(opts.rows / 200));

  counts.api_requests = await insertRows(
    db,
    'api_requests',
    ['widget_id', 'platform', 'status_code', 'response_time_ms', 'cache_hit', 'created_at'],
    (function* () {
      // A request log is appended as requests arrive: ids grow with time, oldest first.
      const agesMs = Float64Array.from({ length: opts.rows }, () => r.int(0, 40 * DAY))
        .sort()
        .reverse();
      for (let i = 0; i < opts.rows; i++) {
        const status = r.chance(0.03) ? r.pick([500, 502, 503]) : r.chance(0.05) ? r.pick([404, 429]) : 200;
        yield [
          r.skewed(200),
          r.pick(PLATFORMS),
          status,
          r.int(5, 120) + (r.chance(0.02) ? r.int(500, 3000) : 0),
          r.chance(0.7) ? 1 : 0,
          at(agesMs[i] as number),
        ];
      }
    })(),
  );

  counts.users = await insertRows(
    db,
    'users',
    ['username', 'email', 'created_at', 'last_activity_at', 'email_verified_at'],
    (function* () {
      for (let i = 1; i <= users; i++) {
        const created = r.int(0, 400) * DAY;
        yield [
          `user${i}`,
          `user${i}@example.test`,
          at(created),
          r.chance(0.8) ? at(r.int(0, 30 * DAY)) : null,
          r.chance(0.7) ? at(created - 3600_000) : null,
        ];
      }
    })(),
  );

  counts.movies = await insertRows(
    db,
    'movies',
    ['title', 'year', 'rating'],
    (function* () {
      for (let i = 0; i < movies; i++) yield [title(r), r.int(1970, 2026), r.int(10, 99) / 10];
    })(),
  );
  counts.series = await insertRows(
    db,
    'series',
    ['title', 'year', 'rating'],
    (function* () {
      for (let i = 0; i < series; i++) yield [title(r), r.int(1990, 2026), r.int(10, 99) / 10];
    })(),
  );

  counts.user_activities = await insertRows(
    db,
    'user_activities',
    ['user_id', 'activity_type', 'subject_id', 'search_term', 'ip_address', 'created_at'],
    (function* () {
      for (let i = 0; i < opts.rows * 2; i++) {
        const type = r.pick(ACTIVITY_TYPES);
        const subject = type === 'watch_movie' ? r.skewed(movies) : type === 'watch_series' ? r.skewed(series) : null;
        const ip =
          type === 'login_failed' && r.chance(0.3) ? `203.0.113.${r.int(1, 4)}` : `198.51.100.${r.int(1, 254)}`;
        yield [
          r.skewed(users, 2),
          type,
          subject,
          type === 'search' ? r.pick(SEARCHES) : null,
          ip,
          at(r.int(0, 40 * DAY)),
        ];
      }
    })(),
  );

  counts.cache = await insertRows(
    db,
    'cache',
    ['key', 'value', 'expires_at'],
    (function* () {
      for (let i = 0; i < Math.max(50, Math.round(opts.rows / 10)); i++) {
        yield [
          `widget:${i}:${r.pick(PLATFORMS)}`,
          JSON.stringify({ widget: i, html: `<div>${title(r)}</div>` }),
          at(r.int(-3 * DAY, 3 * DAY)),
        ];
      }
    })(),
  );

  const genres = ['Action', 'Comedy', 'Drama', 'Horror', 'Sci-Fi', 'Romance', 'Documentary', 'Animation'];
  counts.genres = await insertRows(
    db,
    'genres',
    ['name'],
    genres.map((g) => [g]),
  );
  counts.movie_genre = await insertRows(
    db,
    'movie_genre',
    ['movie_id', 'genre_id'],
    (function* () {
      for (let m = 1; m <= movies; m++) yield [m, ((m * 7) % genres.length) + 1];
    })(),
  );
  counts.series_genre = await insertRows(
    db,
    'series_genre',
    ['series_id', 'genre_id'],
    (function* () {
      for (let s = 1; s <= series; s++) yield [s, ((s * 3) % genres.length) + 1];
    })(),
  );
  counts.movie_sources = await insertRows(
    db,
    'movie_sources',
    ['movie_id', 'url', 'quality'],
    (function* () {
      for (let m = 1; m <= movies; m++)
        yield [m, `https://cdn.example.test/movies/${m}.m3u8`, r.pick(['720p', '1080p', '4K'])];
    })(),
  );
  counts.series_seasons = await insertRows(
    db,
    'series_seasons',
    ['series_id', 'season_number', 'title'],
    (function* () {
      for (let s = 1; s <= series; s++) for (let n = 1; n <= 2; n++) yield [s, n, `Season ${n}`];
    })(),
  );
  counts.series_episodes = await insertRows(
    db,
    'series_episodes',
    ['season_id', 'episode_number', 'title'],
    (function* () {
      for (let season = 1; season <= series * 2; season++)
        for (let e = 1; e <= 6; e++) yield [season, e, `Episode ${e}`];
    })(),
  );
  counts.watchlists = await insertRows(
    db,
    'watchlists',
    ['user_id', 'movie_id', 'series_id', 'created_at'],
    (function* () {
      for (let i = 0; i < users; i++)
        yield [
          r.int(1, users),
          r.chance(0.5) ? r.int(1, movies) : null,
          r.chance(0.5) ? r.int(1, series) : null,
          at(r.int(0, 90 * DAY)),
        ];
    })(),
  );
  counts.invite_codes = await insertRows(
    db,
    'invite_codes',
    ['code', 'created_by', 'used_by', 'expires_at'],
    (function* () {
      for (let i = 0; i < 20; i++)
        yield [
          `INV-${(100000 + i * 7919).toString(36).toUpperCase()}`,
          1,
          r.chance(0.5) ? r.int(2, users) : null,
          at(r.int(-30 * DAY, 30 * DAY)),
        ];
    })(),
  );
  counts.roles = await insertRows(db, 'roles', ['name'], [['admin'], ['moderator'], ['member']]);
  counts.permissions = await insertRows(
    db,
    'permissions',
    ['name'],
    [['manage users'], ['manage content'], ['watch'], ['invite']],
  );
  counts.role_permission = await insertRows(
    db,
    'role_permission',
    ['role_id', 'permission_id'],
    [
      [1, 1],
      [1, 2],
      [1, 3],
      [1, 4],
      [2, 2],
      [2, 3],
      [3, 3],
    ],
  );

  counts.websites = await insertRows(
    db,
    'websites',
    ['name', 'domain', 'status', 'verification_token', 'verification_expires_at'],
    [
      ['Main site', 'www.example.test', 'active', null, null],
      ['Blog', 'blog.example.test', 'active', null, null],
      ['Shop (pending)', 'shop.example.test', 'pending', 'tok-7f3a9c', at(2 * DAY)],
      ['Old landing page', 'old.example.test', 'pending', 'tok-1b2c3d', at(10 * DAY)],
    ],
  );
  counts.api_keys = await insertRows(
    db,
    'api_keys',
    ['website_id', 'status', 'expires_at', 'last_used_at', 'created_at'],
    (function* () {
      for (let i = 0; i < 30; i++) {
        yield [
          r.int(1, 4),
          'active',
          r.chance(0.3) ? at(r.int(1, 60) * DAY) : at(-r.int(1, 300) * DAY),
          r.chance(0.6) ? at(r.int(0, 200) * DAY) : null,
          at(r.int(100, 500) * DAY),
        ];
      }
    })(),
  );
  counts.website_statistics = await insertRows(
    db,
    'website_statistics',
    [
      'website_id',
      'date',
      'statistics_data',
      'api_requests_count',
      'average_response_time',
      'page_views',
      'unique_visitors',
      'created_at',
      'updated_at',
    ],
    (function* () {
      for (let site = 1; site <= 2; site++) {
        for (let d = 1; d <= 400; d += 3) {
          const day = formatLocalDate(new Date(nowMs - d * DAY), tz);
          // Flat keys, as seed 000's job writes them (and aggregate-stats merges them).
          const data = {
            total_users: 100 + site * 10 + Math.floor(d / 10),
            api_calls_today: r.int(100, 5000),
            average_response_time: r.int(20, 200),
            page_views_today: r.int(100, 9000),
          };
          yield [
            site,
            day,
            JSON.stringify(data),
            data.api_calls_today,
            data.average_response_time,
            data.page_views_today,
            r.int(10, 900),
            at(d * DAY),
            at(d * DAY),
          ];
        }
      }
    })(),
  );
  counts.sessions = await insertRows(
    db,
    'sessions',
    ['id', 'user_id', 'payload', 'last_activity'],
    (function* () {
      for (let i = 0; i < 50; i++)
        yield [
          `sess${i.toString(16).padStart(8, '0')}`,
          r.int(1, users),
          'a:0:{}',
          Math.floor((nowMs - r.int(0, 60) * DAY) / 1000),
        ];
    })(),
  );
  counts.personal_access_tokens = await insertRows(
    db,
    'personal_access_tokens',
    ['name', 'expires_at'],
    (function* () {
      for (let i = 0; i < 20; i++)
        yield [`token ${i}`, r.chance(0.5) ? at(r.int(1, 90) * DAY) : at(-r.int(1, 90) * DAY)];
    })(),
  );
  return counts;
}
