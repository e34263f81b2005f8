import { PassThrough } from 'node:stream';
import { Config, type ConfigObject } from '../../src/config/config.js';
import type { Db } from '../../src/db/types.js';
import { createLogger, type Logger } from '../../src/log/logger.js';
import { createMailer, type Mailer } from '../../src/notify/mailer.js';
import type { RunEnvironment } from '../../src/runner/runner.js';
import { ManualClock, type Clock, type Sleep } from '../../src/util/clock.js';

export interface TestEnvironment extends RunEnvironment {
  logs(): string;
  clock: Clock;
}

/** A runner environment on a real database with an injected clock, no real waits, and captured logs. */
export function testEnvironment(opts: {
  db: Db;
  url?: string;
  config?: ConfigObject;
  clock?: Clock;
  mailer?: Mailer;
  sleep?: Sleep;
  baseDir?: string;
}): TestEnvironment {
  const config = new Config(
    { timezone: 'UTC', retry: { tries: 3, backoffSeconds: [0, 0, 0] }, ...opts.config },
    null,
    opts.baseDir ?? process.cwd(),
  );
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  const clock = opts.clock ?? new ManualClock('2026-11-25T03:00:00Z');
  const logger: Logger = createLogger({
    stream,
    interactive: false,
    level: 'debug',
    timeZone: 'UTC',
    now: () => clock.now(),
  });
  return {
    config,
    databaseUrl: opts.url ?? 'sqlite:unused',
    db: opts.db,
    clock,
    sleep: opts.sleep ?? (async () => undefined),
    logger,
    mailer: opts.mailer ?? createMailer({}),
    logs: () => text,
  };
}
