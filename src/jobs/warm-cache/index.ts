import type { CircuitState } from '../../circuit/store.js';
import { defineJob, runFrom } from '../definition.js';
import { resolve, type Resolved, type WarmOptions } from './config.js';

export type { Resolved, WarmOptions } from './config.js';

export type WidgetStatus = 'ok' | 'client-error' | 'failed' | 'skipped' | 'deferred' | 'planned';

export interface WidgetResult {
  widgetId: string;
  platform: string;
  /** Requests to it in the window. */
  requests: number;
  url: string;
  status: WidgetStatus;
  statusCode: number | null;
  ttfbMs: number | null;
  totalMs: number | null;
  /** HTTP attempts (a 429/503 with Retry-After is retried after the wait). */
  attempts: number;
  /** Sent as a half-open trial request. */
  trial: boolean;
  /** Why it was skipped, deferred or failed. */
  reason?: string;
}

export interface WarmResult {
  method: 'GET' | 'HEAD';
  days: number;
  count: number;
  concurrency: number;
  rate: number | null;
  timeoutMs: number;
  breaker: boolean;
  totals: {
    widgets: number;
    sent: number;
    ok: number;
    clientErrors: number;
    failed: number;
    skipped: number;
    deferred: number;
    trials: number;
  };
  slowest: Array<Pick<WidgetResult, 'widgetId' | 'platform' | 'statusCode' | 'ttfbMs' | 'totalMs'>>;
  widgets: WidgetResult[];
  /** Each platform's circuit at the end of the run. */
  circuits: Record<string, CircuitState>;
  transitions: string[];
}

export const warmCacheJob = defineJob<WarmOptions, Resolved, WarmResult>({
  name: 'warm-cache',
  description:
    'Request the most used widgets (config warm.urlTemplate) so the cache is warm; a circuit breaker per platform',
  schedule: {
    cron: '0 6 * * *',
    args: [],
    purpose: 'pre-load the most requested widgets before morning traffic',
  },
  settingKeys: [
    'cache-warming-enabled',
    'cache-warming-widget-count',
    'circuit-breaker-enabled',
    'circuit-breaker-failure-threshold',
    'circuit-breaker-timeout-seconds',
    'circuit-breaker-half-open-requests',
  ],
  timeoutSeconds: 1800,
  examples: [
    'webjobs warm-cache',
    'webjobs warm-cache --count 50 --concurrency 8 --rate 20',
    'webjobs warm-cache --dry-run --force   # list the URLs, send nothing',
  ],
  options: [
    {
      flags: '--count <n>',
      description: 'widgets to warm (default: setting cache-warming-widget-count, 10)',
      type: 'int',
    },
    { flags: '--days <n>', description: 'popularity window in days (default 7)', type: 'int' },
    { flags: '--concurrency <n>', description: 'requests in flight at once (default 4)', type: 'int' },
    {
      flags: '--rate <n>',
      description: 'at most this many requests per second over all workers (default: unlimited)',
      type: 'number',
    },
    {
      flags: '--delay <ms>',
      description: 'pause each worker takes between two requests (default 0)',
      type: 'int',
      key: 'delayMs',
    },
    {
      flags: '--timeout <seconds>',
      description:
        'per-widget budget in seconds: the request, and any Retry-After wait and retry (decimals allowed; default 10)',
      type: 'number',
      key: 'timeoutMs',
      // Whole milliseconds, at least 1; a value that is not above 0 stays so, for resolve to refuse.
      convert: (seconds: number | undefined) =>
        seconds === undefined ? undefined : seconds > 0 ? Math.max(1, Math.round(seconds * 1000)) : seconds,
    },
    { flags: '--method <method>', description: 'GET or HEAD (default GET)', type: { choice: ['GET', 'HEAD'] } },
    { flags: '--force', description: 'run even though the setting cache-warming-enabled is 0' },
  ],
  resolve,

  run: runFrom(() => import('./run.js')),
});

export default warmCacheJob;
