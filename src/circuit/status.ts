import type { Settings } from '../config/settings.js';
import { formatLocalDateTime } from '../util/time.js';
import type { Circuit, CircuitState } from './store.js';

export interface PlatformStatus {
  platform: string;
  state: CircuitState;
  failure_count: number;
  total_requests: number;
  total_failures: number;
  /** Percent of recorded requests that did not fail (null before any request). */
  success_rate: number | null;
  opened_at: string | null;
  /** When an open circuit lets trial requests through (local time). */
  half_open_at: string | null;
  /** Live half-open trial slots. */
  trials_in_flight: number;
  last_failure: string | null;
  version: number;
}

interface CircuitStatus {
  enabled: boolean;
  failure_threshold: number;
  timeout_seconds: number;
  half_open_requests: number;
  total_platforms: number;
  closed: number;
  open: number;
  half_open: number;
  total_requests: number;
  total_failures: number;
  platforms: PlatformStatus[];
}

/** The seed's status figures, from the stored circuits. */
export function circuitStatus(circuits: Circuit[], settings: Settings, now: Date, timeZone: string): CircuitStatus {
  const timeoutSeconds = settings.int('circuit-breaker-timeout-seconds');
  const local = (ms: number | null) => (ms === null ? null : formatLocalDateTime(new Date(ms), timeZone));
  const platforms = circuits.map((c): PlatformStatus => ({
    platform: c.platform,
    state: c.state,
    failure_count: c.failureCount,
    total_requests: c.totalRequests,
    total_failures: c.totalFailures,
    success_rate: c.totalRequests
      ? Math.round(((c.totalRequests - c.totalFailures) / c.totalRequests) * 1000) / 10
      : null,
    opened_at: local(c.openedAtMs),
    half_open_at: c.state === 'open' && c.openedAtMs !== null ? local(c.openedAtMs + timeoutSeconds * 1000) : null,
    trials_in_flight: c.state === 'half_open' ? c.leases.filter((l) => l.untilMs > now.getTime()).length : 0,
    last_failure: c.lastFailure,
    version: c.version,
  }));
  const count = (s: CircuitState) => circuits.filter((c) => c.state === s).length;
  return {
    enabled: settings.bool('circuit-breaker-enabled'),
    failure_threshold: settings.int('circuit-breaker-failure-threshold'),
    timeout_seconds: timeoutSeconds,
    half_open_requests: settings.int('circuit-breaker-half-open-requests'),
    total_platforms: circuits.length,
    closed: count('closed'),
    open: count('open'),
    half_open: count('half_open'),
    total_requests: circuits.reduce((s, c) => s + c.totalRequests, 0),
    total_failures: circuits.reduce((s, c) => s + c.totalFailures, 0),
    platforms,
  };
}
