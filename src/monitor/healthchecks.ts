import type { Config } from '../config/config.js';
import type { Logger } from '../log/logger.js';
import type { RunObserver, RunSummary } from '../runner/runner.js';
import { errorMessage, UsageError } from '../util/errors.js';

/**
 * Pings in the healthchecks convention, per job (config `monitor.pings.<job>`): `URL/start` when a
 * run starts (after it took the lock), `URL` on success, `URL/fail` on failure, each with the run id
 * as `rid` and the last 10,000 bytes of the log as the body. A skipped run pings nothing.
 */
interface PingOptions {
  timeoutMs: number;
  retries: number;
  retryDelayMs: number;
}

function pingOptions(config: Config): PingOptions {
  return {
    timeoutMs: config.value('monitor.pingTimeoutSeconds') * 1000,
    retries: config.value('monitor.pingRetries'),
    retryDelayMs: config.value('monitor.pingRetryDelayMs'),
  };
}

export function pingUrlFor(config: Config, job: string): string | null {
  const pings = config.value('monitor.pings');
  const url = pings[job];
  if (url === undefined || url === null || url === '') return null;
  if (typeof url !== 'string') throw new UsageError(`config monitor.pings.${job} must be a URL`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`config monitor.pings.${job} is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new UsageError(`config monitor.pings.${job} must be an http(s) URL`);
  return url;
}

export function pingTarget(base: string, kind: 'start' | 'success' | 'fail', runId: string): string {
  const u = new URL(base);
  if (kind !== 'success') u.pathname = `${u.pathname.replace(/\/+$/, '')}/${kind}`;
  u.searchParams.set('rid', runId);
  return u.toString();
}

/** The last `maxBytes` bytes of `text`, cut at a character boundary. */
export function lastBytes(text: string, maxBytes = 10_000): string {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= maxBytes) return text;
  let start = buf.length - maxBytes;
  while (start < buf.length && ((buf[start] ?? 0) & 0xc0) === 0x80) start++;
  return buf.subarray(start).toString('utf8');
}

async function sendPing(
  url: string,
  body: string,
  opts: PingOptions,
  sleep = (ms: number) => new Promise((r) => setTimeout(r, ms)),
): Promise<void> {
  let lastError: unknown;
  for (let attempt = 0; attempt <= opts.retries; attempt++) {
    if (attempt > 0) await sleep(opts.retryDelayMs * attempt);
    try {
      const res = await fetch(url, {
        method: 'POST',
        body,
        headers: { 'content-type': 'text/plain; charset=utf-8', 'user-agent': 'webjobs' },
        signal: AbortSignal.timeout(opts.timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return;
      lastError = new Error(`HTTP ${res.status}`);
      if (res.status < 500 && res.status !== 429) break; // a wrong URL will not get better by retrying
    } catch (err) {
      lastError = err;
    }
  }
  const reason = errorMessage(lastError);
  const cause = (lastError as { cause?: unknown })?.cause;
  throw new Error(`${reason}${cause ? ` (${errorMessage(cause)})` : ''}`);
}

export function healthchecksObserver(config: Config, logger: Logger): RunObserver[] {
  const opts = pingOptions(config);
  for (const job of Object.keys(config.value('monitor.pings'))) pingUrlFor(config, job); // a malformed URL is exit 2 before the run
  const masked = (url: string) => logger.mask(url.replace(/\/\/([^/@]*@)?([^/]+)\/.*$/, '//$2/…'));
  return [
    {
      async onStart(info) {
        const base = pingUrlFor(config, info.job);
        if (!base) return;
        await sendPing(pingTarget(base, 'start', info.runId), '', opts).catch((err) => {
          throw new Error(`${masked(base)}: ${errorMessage(err)}`);
        });
      },
      async onFinish(summary: RunSummary, logTail: string) {
        const base = pingUrlFor(config, summary.job);
        if (!base || summary.status === 'skipped' || summary.status === 'dry-run') return;
        const kind = summary.status === 'succeeded' ? 'success' : 'fail';
        await sendPing(pingTarget(base, kind, summary.runId), lastBytes(logTail), opts).catch((err) => {
          throw new Error(`${masked(base)}: ${errorMessage(err)}`);
        });
      },
    },
  ];
}
