import type { CommandEnvironment } from '../cli/environment.js';
import type { RunObserver } from '../runner/runner.js';
import { healthchecksObserver } from './healthchecks.js';
import { textfileObserver } from './textfile.js';

/** The monitors configured for this environment (healthchecks pings, Prometheus textfile), for every job run. */
export function monitorsFor(env: CommandEnvironment): RunObserver[] {
  return [...healthchecksObserver(env.config, env.logger), ...textfileObserver(env.config, () => env.openDb())];
}
