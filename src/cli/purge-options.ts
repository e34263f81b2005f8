import { InvalidArgumentError, type Command } from './commander.js';
import type { PurgeOptions } from '../jobs/purge-options.js';
import { intOption } from './common-options.js';

function secondsOption(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0)
      throw new InvalidArgumentError(`${name} must be a number of seconds`);
    return n;
  };
}

/** `--chunk`, `--sleep`, `--max-runtime`, `--max-lag`: the shared chunked-purge options. */
export function addPurgeOptions(cmd: Command): Command {
  return cmd
    .option(
      '--chunk <rows>',
      'most rows deleted per chunk, each its own short transaction (default 5000; smaller while deletes run past config purge.targetStatementMs, 100 ms)',
      intOption('--chunk', 1, 1_000_000),
    )
    .option('--sleep <ms>', 'pause between chunks in milliseconds (default 0)', intOption('--sleep', 0, 3_600_000))
    .option(
      '--max-runtime <seconds>',
      'stop cleanly after this long and report what is left',
      secondsOption('--max-runtime'),
    )
    .option(
      '--max-lag <seconds>',
      'MariaDB: pause while a replica (config database.replicas) lags more than this',
      secondsOption('--max-lag'),
    );
}

export function purgeOptionsFrom(opts: {
  chunk?: number;
  sleep?: number;
  maxRuntime?: number;
  maxLag?: number;
}): PurgeOptions {
  return { chunk: opts.chunk, sleepMs: opts.sleep, maxRuntimeSeconds: opts.maxRuntime, maxLagSeconds: opts.maxLag };
}
