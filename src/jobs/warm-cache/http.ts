import http from 'node:http';
import https from 'node:https';
import { errorMessage } from '../../util/errors.js';

interface TimedResponse {
  statusCode: number | null;
  /** Time to the response head (first byte), ms. */
  ttfbMs: number | null;
  /** Time to the end of the body, ms. */
  totalMs: number;
  /** From `Retry-After` (seconds or an HTTP date), ms from now. */
  retryAfterMs: number | null;
  error?: string;
  timedOut?: boolean;
}

interface RequestOptions {
  method: 'GET' | 'HEAD';
  headers: Record<string, string>;
  timeoutMs: number;
  signal: AbortSignal;
}

/** `Retry-After: 120` or `Retry-After: Wed, 21 Oct 2026 07:28:00 GMT` as ms to wait (null when absent or unreadable). */
function parseRetryAfter(value: string | string[] | undefined, nowMs = Date.now()): number | null {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return null;
  const t = v.trim();
  if (/^\d+$/.test(t)) return Number(t) * 1000;
  const at = Date.parse(t);
  return Number.isNaN(at) ? null : Math.max(0, at - nowMs);
}

/** One HTTP client per run: keep-alive sockets, as many as the concurrency. */
export class HttpClient {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;

  constructor(maxSockets: number) {
    this.httpAgent = new http.Agent({ keepAlive: true, maxSockets });
    this.httpsAgent = new https.Agent({ keepAlive: true, maxSockets });
  }

  /** Sends one request and reads (discards) the body; never throws: errors and timeouts are in the result. */
  request(url: string, opts: RequestOptions): Promise<TimedResponse> {
    const t0 = performance.now();
    const timeout = AbortSignal.timeout(opts.timeoutMs);
    const signal = AbortSignal.any([opts.signal, timeout]);
    const u = new URL(url);
    const lib = u.protocol === 'https:' ? https : http;
    return new Promise<TimedResponse>((resolve) => {
      let ttfbMs: number | null = null;
      let statusCode: number | null = null;
      let retryAfterMs: number | null = null;
      let settled = false;
      const done = (error?: unknown) => {
        if (settled) return;
        settled = true;
        const totalMs = performance.now() - t0;
        if (error === undefined) {
          resolve({ statusCode, ttfbMs, totalMs, retryAfterMs });
          return;
        }
        const timedOut = timeout.aborted && !opts.signal.aborted;
        resolve({
          statusCode,
          ttfbMs,
          totalMs,
          retryAfterMs,
          timedOut,
          error: timedOut ? `timed out after ${opts.timeoutMs} ms` : errorMessage(error),
        });
      };
      let req: http.ClientRequest;
      try {
        req = lib.request(
          u,
          {
            method: opts.method,
            headers: opts.headers,
            signal,
            agent: u.protocol === 'https:' ? this.httpsAgent : this.httpAgent,
          },
          (res) => {
            ttfbMs = performance.now() - t0;
            statusCode = res.statusCode ?? null;
            retryAfterMs = parseRetryAfter(res.headers['retry-after']);
            res.on('data', () => undefined);
            res.on('end', () => done());
            res.on('error', (err) => done(err));
            res.on('aborted', () => done(new Error('response aborted')));
          },
        );
      } catch (err) {
        done(err);
        return;
      }
      req.on('error', (err) => done(err));
      req.end();
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

/**
 * A global rate limit: requests are spaced 1/rate seconds apart (no bursts). `pauseUntil`
 * holds every worker back, e.g. after a 429 with Retry-After.
 */
export class RateLimiter {
  private nextAtMs = 0;
  /** Until when the app asked everybody to wait (Retry-After), epoch ms. */
  pausedUntilMs = 0;

  constructor(
    private readonly ratePerSecond: number | null,
    private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>,
  ) {}

  async take(signal?: AbortSignal): Promise<void> {
    const now = Date.now();
    const at = Math.max(now, this.nextAtMs);
    if (this.ratePerSecond) this.nextAtMs = at + 1000 / this.ratePerSecond;
    if (at > now) await this.sleep(at - now, signal);
  }

  pauseUntil(ms: number): void {
    this.pausedUntilMs = Math.max(this.pausedUntilMs, ms);
    this.nextAtMs = Math.max(this.nextAtMs, ms);
  }
}
