import { loadConfig, resolveDatabaseUrl, type Config } from '../config/config.js';
import { openDatabase } from '../db/connect.js';
import type { Db } from '../db/types.js';
import { parseDatabaseUrl, urlSecrets } from '../db/url.js';
import { createLogger, type Logger, type LogLevel } from '../log/logger.js';
import { createMailer, mailerOptionsFromConfig, type Mailer } from '../notify/mailer.js';
import { realSleep, systemClock, type Clock, type Sleep } from '../util/clock.js';
import { UsageError } from '../util/errors.js';

/** The options every command shares. */
export interface GlobalOptions {
  config?: string;
  db?: string;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  dryRun?: boolean;
}

export interface CommandEnvironment {
  config: Config;
  databaseUrl: string;
  logger: Logger;
  mailer: Mailer;
  clock: Clock;
  sleep: Sleep;
  json: boolean;
  openDb(): Promise<Db>;
}

/**
 * Reads config, resolves the database URL (checking its form: a bad one is exit 2 before
 * anything runs), and builds the logger with every known secret registered for masking.
 */
export function buildEnvironment(opts: GlobalOptions, env: NodeJS.ProcessEnv = process.env): CommandEnvironment {
  const config = loadConfig({ configPath: opts.config, env });
  const databaseUrl = resolveDatabaseUrl(opts.db, config, env);
  parseDatabaseUrl(databaseUrl);
  const level: LogLevel = opts.quiet ? 'warn' : opts.verbose ? 'debug' : 'info';
  const logger = createLogger({ level, timeZone: config.timezone });
  const mailer = createMailer(mailerOptionsFromConfig(config, env));
  for (const s of [...urlSecrets(databaseUrl), ...mailer.secrets]) logger.addSecret(s);
  for (const s of secretValuesInConfig(config)) logger.addSecret(s);
  return {
    config,
    databaseUrl,
    logger,
    mailer,
    clock: clockFromEnv(env),
    sleep: realSleep,
    json: Boolean(opts.json),
    openDb: () => openDatabase(databaseUrl, { busyTimeoutMs: config.value('database.busyTimeoutMs') }),
  };
}

/**
 * TEST ONLY: `WEBJOBS_NOW=<ISO date-time>` starts the clock at that moment (it then runs at
 * the normal pace), so tests can run the real CLI "ten minutes later" (e.g. a circuit's
 * open timeout). A value that is not a date is a usage error. Never set it in production.
 */
export function clockFromEnv(env: NodeJS.ProcessEnv): Clock {
  const fixed = env.WEBJOBS_NOW;
  if (!fixed) return systemClock;
  const startMs = Date.parse(fixed);
  if (Number.isNaN(startMs)) throw new UsageError(`WEBJOBS_NOW must be an ISO date-time, got ${JSON.stringify(fixed)}`);
  const t0 = performance.now();
  return { now: () => new Date(startMs + (performance.now() - t0)) };
}

/**
 * Values under keys that look secret (password, token, secret, url with credentials) anywhere
 * in config, and every ping URL (in the healthchecks convention the URL itself is the secret).
 */
function secretValuesInConfig(config: Config): string[] {
  const out: string[] = [];
  const walk = (node: unknown, keyPath: string) => {
    const key = keyPath.slice(keyPath.lastIndexOf('.') + 1);
    if (typeof node === 'string') {
      if (/pass|secret|token|apikey|api_key|authorization|cookie/i.test(key) || keyPath.startsWith('monitor.pings.'))
        out.push(node);
      out.push(...urlSecrets(node));
    } else if (Array.isArray(node)) {
      node.forEach((v) => walk(v, keyPath));
    } else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) walk(v, keyPath ? `${keyPath}.${k}` : k);
    }
  };
  walk(config.data, '');
  return out;
}
