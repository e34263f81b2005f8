import type { Settings } from '../config/settings.js';
import type { Logger } from '../log/logger.js';
import { describeTransition, type CircuitPolicy, type Transition } from './store.js';

/** The breaker's settings (`circuit-breaker-*`); a trial slot is held for the request timeout plus a margin. */
export function circuitPolicy(settings: Settings, requestTimeoutMs: number): CircuitPolicy {
  return {
    failureThreshold: settings.int('circuit-breaker-failure-threshold'),
    timeoutMs: settings.int('circuit-breaker-timeout-seconds') * 1000,
    halfOpenRequests: settings.int('circuit-breaker-half-open-requests'),
    leaseMs: requestTimeoutMs + 5000,
  };
}

/** Every transition in one log line: a circuit opening is a warning, the others are info. */
export function logTransition(logger: Logger): (t: Transition) => void {
  return (t) => (t.to === 'open' ? logger.warn(describeTransition(t)) : logger.info(describeTransition(t)));
}
