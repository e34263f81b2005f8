import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createReferenceSchema } from '../../src/db/schema.js';
import type { Db } from '../../src/db/types.js';

export type Behaviour =
  | { kind: 'ok'; delayMs?: number }
  | { kind: 'fail'; status?: number }
  | { kind: 'hang' }
  | { kind: 'retry-after'; seconds: number; times: number };

export interface TestServer {
  url: string;
  /** Requests received, per platform (the `p` query parameter). */
  hits: Map<string, number>;
  headers: http.IncomingHttpHeaders[];
  methods: string[];
  set(platform: string, b: Behaviour): void;
  total(): number;
  close(): Promise<void>;
}

/** A real local HTTP server; each platform (query `p`) behaves as set: ok, 500, hang, or 429 with Retry-After. */
export async function startServer(): Promise<TestServer> {
  const behaviours = new Map<string, Behaviour>();
  const hits = new Map<string, number>();
  const tries = new Map<string, number>();
  const headers: http.IncomingHttpHeaders[] = [];
  const methods: string[] = [];
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const p = u.searchParams.get('p') ?? '';
    hits.set(p, (hits.get(p) ?? 0) + 1);
    headers.push(req.headers);
    methods.push(req.method ?? '');
    const b = behaviours.get(p) ?? { kind: 'ok' };
    if (b.kind === 'hang') return; // never answers
    if (b.kind === 'fail') {
      res.statusCode = b.status ?? 500;
      res.end('down');
      return;
    }
    if (b.kind === 'retry-after') {
      const key = u.pathname;
      const n = (tries.get(key) ?? 0) + 1;
      tries.set(key, n);
      if (n <= b.times) {
        res.statusCode = 429;
        res.setHeader('Retry-After', String(b.seconds));
        res.end('slow down');
        return;
      }
    }
    const delay = b.kind === 'ok' ? (b.delayMs ?? 0) : 0;
    setTimeout(() => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ ok: true, path: u.pathname }));
    }, delay);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    headers,
    methods,
    set: (p, b) => behaviours.set(p, b),
    total: () => [...hits.values()].reduce((a, b) => a + b, 0),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * api_requests rows: for each platform, `widgets` widgets with ids from `firstId`, widget i
 * requested (popularity − i) times yesterday, so the order of the warm list is known.
 */
export async function seedRequests(
  db: Db,
  plan: Array<{ platform: string; firstId: number; widgets: number; popularity: number }>,
  day = '2026-11-24 12:00:00',
): Promise<void> {
  await createReferenceSchema(db);
  await db.execute('DELETE FROM api_requests');
  const rows: unknown[][] = [];
  for (const p of plan) {
    for (let i = 0; i < p.widgets; i++) {
      for (let k = 0; k < p.popularity - i; k++) rows.push([p.firstId + i, p.platform, 200, 10, 0, day]);
    }
  }
  for (let i = 0; i < rows.length; i += 200) {
    const chunk = rows.slice(i, i + 200);
    await db.execute(
      `INSERT INTO api_requests (widget_id, platform, status_code, response_time_ms, cache_hit, created_at) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?)').join(', ')}`,
      chunk.flat(),
    );
  }
}
