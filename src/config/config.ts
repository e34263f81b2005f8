import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_DATABASE_URL } from '../db/url.js';
import { UsageError } from '../util/errors.js';
import { assertTimeZone, systemTimeZone } from '../util/time.js';
import { readFlag, readKey } from './read-key.js';
import { specOf, type ConfigKey, type ConfigValue, type PlainConfigKey } from './schema.js';

import { checkNumber } from './check-number.js';

export { checkNumber };

export type ConfigObject = Record<string, unknown>;

/** The loaded configuration file plus where it came from; every read is checked. */
export class Config {
  constructor(
    readonly data: ConfigObject,
    readonly file: string | null,
    readonly baseDir: string,
  ) {}

  /** A value by dotted path (`backup.dir`), undefined when absent. */
  get(keyPath: string): unknown {
    let node: unknown = this.data;
    for (const part of keyPath.split('.')) {
      if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
      node = (node as ConfigObject)[part];
    }
    return node;
  }

  section(keyPath: string): ConfigObject {
    const v = this.get(keyPath);
    if (v === undefined || v === null) return {};
    if (typeof v !== 'object' || Array.isArray(v)) throw new UsageError(`config ${keyPath} must be an object`);
    return v as ConfigObject;
  }

  /** A key read through its schema entry: checked, typed, and defaulted from the schema. */
  value<K extends PlainConfigKey>(key: K): ConfigValue<K> {
    const spec = specOf(key);
    const raw = this.get(key);
    if (raw !== undefined && raw !== null) return readKey(spec, raw, `config ${key}`, this.baseDir) as ConfigValue<K>;
    const fallback = structuredClone(spec.default);
    return (
      spec.type === 'path' && typeof fallback === 'string' ? path.resolve(process.cwd(), fallback) : fallback
    ) as ConfigValue<K>;
  }

  /** A flag that stands for a key: the flag when given (checked against the key's entry), else the key. */
  valueOr<K extends PlainConfigKey>(key: K, flag: unknown, flagName: string): ConfigValue<K> {
    if (flag === undefined) return this.value(key);
    return readFlag(specOf(key), flag, flagName) as ConfigValue<K>;
  }

  /** A key under a `<placeholder>` entry (`jobs.backup-db.timeoutSeconds`), checked against that entry; undefined when absent. */
  valueAt<K extends ConfigKey>(entry: K, key: string): ConfigValue<K> | undefined {
    const raw = this.get(key);
    if (raw === undefined || raw === null) return undefined;
    return readKey(specOf(entry), raw, `config ${key}`, this.baseDir) as ConfigValue<K>;
  }

  get timezone(): string {
    const tz = this.value('timezone');
    return tz ? assertTimeZone(tz) : systemTimeZone();
  }
}

export interface ConfigSource {
  configPath?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** `--config` > `WEBJOBS_CONFIG` > `./webjobs.config.json` if present > no file. */
export function loadConfig(source: ConfigSource = {}): Config {
  const env = source.env ?? process.env;
  const cwd = source.cwd ?? process.cwd();
  const explicit = source.configPath ?? env.WEBJOBS_CONFIG;
  const candidate = explicit ?? path.join(cwd, 'webjobs.config.json');
  if (!explicit && !fs.existsSync(candidate)) return new Config({}, null, cwd);
  const file = path.resolve(cwd, candidate);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new UsageError(`cannot read config file ${file} (${code})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`config file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new UsageError(`config file ${file} must hold a JSON object`);
  }
  return new Config(data as ConfigObject, file, path.dirname(file));
}

/** `--db` > `DATABASE_URL` > config `database.url` > the embedded SQLite default. */
export function resolveDatabaseUrl(
  flag: string | undefined,
  config: Config,
  env: NodeJS.ProcessEnv = process.env,
): string {
  return flag ?? env.DATABASE_URL ?? config.value('database.url') ?? DEFAULT_DATABASE_URL;
}
