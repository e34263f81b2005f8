import { registerObservers } from '../cli/run-job-command.js';
import { healthchecksObserver } from './healthchecks.js';
import { textfileObserver } from './textfile.js';

// Every job run from the command line or from `webjobs schedule` reports to the configured monitors.
registerObservers((env) => [
  ...healthchecksObserver(env.config, env.logger),
  ...textfileObserver(env.config, () => env.openDb()),
]);
