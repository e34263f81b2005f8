import { replicaUrls } from '../db/replication.js';
import type { Config } from '../config/config.js';
import { UsageError } from '../util/errors.js';
import type { JobOption } from './definition.js';
import { intInRange } from './option-ranges.js';

/** The options every purging job shares (`--chunk`, `--sleep`, `--max-runtime`, `--max-lag`). */
export interface PurgeOptions {
  /** Most rows per chunk (default: start at 5000, grow up to 25,000 while statements stay fast). */
  chunk?: number;
  /** Pause between chunks in ms (default 0). */
  sleepMs?: number;
  /** Stop cleanly after this many seconds of purging and report what is left. */
  maxRuntimeSeconds?: number;
  /** MariaDB: pause while a configured replica (config database.replicas) lags more than this. */
  maxLagSeconds?: number;
}

/** `--chunk`, `--sleep`, `--max-runtime`, `--max-lag`: the shared chunked-purge options. */
export const PURGE_OPTIONS: readonly JobOption<PurgeOptions>[] = [
  {
    flags: '--chunk <rows>',
    description:
      'most rows deleted per chunk, each its own short transaction (default 5000; smaller while deletes run past config purge.targetStatementMs, 60 ms)',
    type: 'int',
  },
  {
    flags: '--sleep <ms>',
    description: 'pause between chunks in milliseconds (default 0)',
    type: 'int',
    key: 'sleepMs',
  },
  {
    flags: '--max-runtime <seconds>',
    description: 'stop cleanly after this long and report what is left',
    type: 'number',
    key: 'maxRuntimeSeconds',
  },
  {
    flags: '--max-lag <seconds>',
    description: 'MariaDB: pause while a replica (config database.replicas) lags more than this',
    type: 'number',
    key: 'maxLagSeconds',
  },
];

/** The purge options checked, and the config the purge reads (exit 2 on a bad value). */
export function resolvePurgeOptions(config: Config, o: PurgeOptions): PurgeOptions {
  if (o.chunk !== undefined && !Number.isInteger(o.chunk)) throw new UsageError('--chunk must be a whole number');
  intInRange(o.chunk, '--chunk', 1, 1_000_000);
  if (o.sleepMs !== undefined && !Number.isInteger(o.sleepMs)) throw new UsageError('--sleep must be a whole number');
  intInRange(o.sleepMs, '--sleep', 0, 3_600_000);
  if (o.maxRuntimeSeconds !== undefined && !(o.maxRuntimeSeconds > 0))
    throw new UsageError('--max-runtime must be more than 0 seconds');
  if (o.maxLagSeconds !== undefined && !(o.maxLagSeconds >= 0))
    throw new UsageError('--max-lag must be 0 or more seconds');
  config.value('purge.targetStatementMs');
  replicaUrls(config);
  return { chunk: o.chunk, sleepMs: o.sleepMs, maxRuntimeSeconds: o.maxRuntimeSeconds, maxLagSeconds: o.maxLagSeconds };
}
