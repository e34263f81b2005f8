import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { UsageError } from '../util/errors.js';
import { CONTENT_SECURITY_POLICY } from './page.js';

export const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** 127.0.0.0/8, ::1 and localhost: only this machine can reach a server bound there. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || /^::ffff:127(\.\d{1,3}){3}$/.test(h);
}

/** A host other than loopback is reachable from the network: it is refused without a token. */
export function checkServeOptions(host: string, token: string | undefined): void {
  if (!isLoopback(host) && !token)
    throw new UsageError(
      `--host ${host} is reachable from other machines: set --token or config dashboard.token (or keep the default 127.0.0.1)`,
    );
  if (token !== undefined && token.length < 8)
    throw new UsageError('the dashboard token must be at least 8 characters');
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Compares in constant time (over fixed-length digests, so the length does not leak either). */
export function tokenMatches(given: string | null, expected: string): boolean {
  if (given === null) return false;
  return timingSafeEqual(digest(given), digest(expected));
}

function requestToken(req: http.IncomingMessage, url: URL): string | null {
  const auth = req.headers.authorization;
  if (auth && /^Bearer\s+/i.test(auth)) return auth.replace(/^Bearer\s+/i, '').trim();
  return url.searchParams.get('token');
}

export interface DashboardServerOptions {
  host: string;
  port: number;
  token?: string;
  /** Renders the page afresh for each request. */
  render: () => Promise<string>;
  /** One line per request, with the path only (never the query, which may hold the token). */
  log: (line: string) => void;
  onError: (err: unknown) => void;
}

/** Serves the page on GET and HEAD at `/` only; every other method is 405, every other path 404. */
export function startDashboardServer(opts: DashboardServerOptions): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
    const send = (status: number, body: string, extra: Record<string, string> = {}) => {
      res.writeHead(status, {
        ...SECURITY_HEADERS,
        'Content-Type': status === 200 ? 'text/html; charset=utf-8' : 'text/plain; charset=utf-8',
        'Content-Length': String(Buffer.byteLength(body)),
        ...extra,
      });
      res.end(req.method === 'HEAD' ? undefined : body);
      opts.log(`${req.method} ${url.pathname} ${status}`);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n', { Allow: 'GET, HEAD' });
    if (opts.token !== undefined && !tokenMatches(requestToken(req, url), opts.token))
      return send(401, 'unauthorized\n', { 'WWW-Authenticate': 'Bearer realm="webjobs"' });
    if (url.pathname !== '/') return send(404, 'not found\n');
    opts.render().then(
      (html) => send(200, html),
      (err: unknown) => {
        opts.onError(err);
        send(500, 'the dashboard could not be built; see the server log\n');
      },
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

export function serverAddress(server: http.Server): string {
  const a = server.address() as AddressInfo;
  return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}/`;
}
