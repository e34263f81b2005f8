import type { Config } from '../../config/config.js';
import type { Settings } from '../../config/settings.js';
import { UsageError } from '../../util/errors.js';
import { intInRange } from '../option-ranges.js';

export interface WarmOptions {
  /** Widgets to warm (`--count`), else the setting `cache-warming-widget-count`. */
  count?: number;
  /** Popularity window in days (`--days`, default 7). */
  days?: number;
  concurrency?: number;
  /** Requests per second over all workers (`--rate`); unlimited when absent. */
  rate?: number;
  /** Pause each worker takes between two of its requests, ms (`--delay`). */
  delayMs?: number;
  /** Per-request timeout, ms (`--timeout` seconds). */
  timeoutMs?: number;
  method?: 'GET' | 'HEAD';
  /** Run although the setting `cache-warming-enabled` is 0. */
  force?: boolean;
}

/** What a warming run uses: flags > config `warm.*` > settings > defaults, checked. */
export interface Resolved {
  count: number;
  days: number;
  concurrency: number;
  rate: number | null;
  delayMs: number;
  timeoutMs: number;
  method: 'GET' | 'HEAD';
  force: boolean;
  /** config warm.urlTemplate (checked); the run fails without one unless warming is disabled. */
  template: string | undefined;
  headers: Record<string, string>;
  /** Header values to mask in logs. */
  secrets: string[];
}

function positiveNumber(value: number | undefined, flag: string, max: number): number | undefined {
  if (value !== undefined && !(value > 0 && value <= max))
    throw new UsageError(`${flag} must be a number above 0 and at most ${max}`);
  return value;
}

export function resolve(config: Config, settings: Settings, o: WarmOptions): Resolved {
  const template = checkUrlTemplate(config);
  const { headers, secrets } = headersFromConfig(config);
  const method = o.method ?? config.value('warm.method').toUpperCase();
  if (method !== 'GET' && method !== 'HEAD')
    throw new UsageError(`config warm.method must be GET or HEAD, got ${JSON.stringify(method)}`);
  const rate = positiveNumber(o.rate, '--rate', 100_000) ?? config.value('warm.rate') ?? null;
  if (o.timeoutMs !== undefined && !(o.timeoutMs > 0 && o.timeoutMs <= 3_600_000))
    throw new UsageError('--timeout must be a number above 0 and at most 3600');
  return {
    count: intInRange(o.count, '--count', 1, 1_000_000) ?? settings.int('cache-warming-widget-count'),
    days: config.valueOr('warm.days', o.days, '--days'),
    concurrency: config.valueOr('warm.concurrency', o.concurrency, '--concurrency'),
    rate,
    delayMs: config.valueOr('warm.delayMs', o.delayMs, '--delay'),
    timeoutMs: o.timeoutMs ?? Math.round(config.value('warm.timeoutSeconds') * 1000),
    method,
    force: Boolean(o.force),
    template,
    headers,
    secrets,
  };
}

/** Fills `{id}` and `{platform}` in, URL-encoded. */
export function expandTemplate(template: string, widgetId: string, platform: string): string {
  return template
    .replace(/\{id\}/g, encodeURIComponent(widgetId))
    .replace(/\{platform\}/g, encodeURIComponent(platform));
}

/** Checks `warm.urlTemplate`: an absolute http(s) URL with `{id}`. Returns it, or undefined when absent. */
export function checkUrlTemplate(config: Config): string | undefined {
  const template = config.value('warm.urlTemplate');
  if (template === undefined) return undefined;
  if (!template.includes('{id}')) throw new UsageError('config warm.urlTemplate must contain {id} (the widget id)');
  let url: URL;
  try {
    url = new URL(expandTemplate(template, '1', 'platform'));
  } catch {
    throw new UsageError(`config warm.urlTemplate is not a valid URL: ${JSON.stringify(template)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`config warm.urlTemplate must be an http:// or https:// URL, got ${url.protocol}`);
  }
  return template;
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Config `warm.headers`: `{ "Authorization": "Bearer ${API_TOKEN}" }`. `${NAME}` is read from
 * the environment (a missing variable is a usage error), so tokens stay out of the file.
 * Returns the headers and the values that came from the environment (to mask in logs).
 */
export function headersFromConfig(
  config: Config,
  env: NodeJS.ProcessEnv = process.env,
): { headers: Record<string, string>; secrets: string[] } {
  const section = config.value('warm.headers');
  const headers: Record<string, string> = {};
  const secrets: string[] = [];
  for (const [name, raw] of Object.entries(section)) {
    if (!HEADER_NAME.test(name))
      throw new UsageError(`config warm.headers: ${JSON.stringify(name)} is not a valid header name`);
    if (typeof raw !== 'string') throw new UsageError(`config warm.headers.${name} must be a string`);
    const value = raw.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, v: string) => {
      const found = env[v];
      if (found === undefined)
        throw new UsageError(`config warm.headers.${name} names the environment variable ${v}, which is not set`);
      secrets.push(found);
      return found;
    });
    if (/[\r\n\0]/.test(value)) throw new UsageError(`config warm.headers.${name} must not contain line breaks`);
    headers[name] = value;
    // A literal value under an auth-looking header is a secret too.
    if (/auth|token|key|secret|cookie/i.test(name))
      secrets.push(value, ...value.split(/\s+/).filter((p) => p.length >= 8));
  }
  return { headers, secrets };
}
