import type { Db } from '../db/types.js';
import { DEFAULT_SETTINGS } from '../db/schema.js';
import { UsageError } from '../util/errors.js';
import type { Config } from './config.js';
import type { TableMap } from './tables.js';

export type SettingKind = 'int' | 'bool' | 'string';

export interface SettingDefinition {
  key: string;
  kind: SettingKind;
  default: string;
  min?: number;
  max?: number;
  description: string;
}

/** The seed's keys, their types and defaults; anything else in the table is kept as text. */
export const SETTING_DEFINITIONS: SettingDefinition[] = [
  {
    key: 'cache-statistics-retention-days',
    kind: 'int',
    default: '30',
    min: 1,
    max: 36500,
    description: 'days of api_requests detail kept after roll-up',
  },
  { key: 'cache-cleanup-enabled', kind: 'bool', default: '1', description: 'cleanup-cache runs (1) or skips (0)' },
  { key: 'cache-warming-enabled', kind: 'bool', default: '0', description: 'warm-cache runs (1) or skips (0)' },
  {
    key: 'cache-warming-widget-count',
    kind: 'int',
    default: '10',
    min: 1,
    max: 100000,
    description: 'widgets warm-cache requests',
  },
  { key: 'circuit-breaker-enabled', kind: 'bool', default: '1', description: 'circuit breakers guard warm-cache' },
  {
    key: 'circuit-breaker-failure-threshold',
    kind: 'int',
    default: '5',
    min: 1,
    max: 100000,
    description: 'consecutive failures that open a circuit',
  },
  {
    key: 'circuit-breaker-timeout-seconds',
    kind: 'int',
    default: '600',
    min: 1,
    max: 31536000,
    description: 'seconds a circuit stays open before half-open',
  },
  {
    key: 'circuit-breaker-half-open-requests',
    kind: 'int',
    default: '3',
    min: 1,
    max: 1000,
    description: 'trial requests allowed while half-open',
  },
];

// Keep the schema's seeded defaults and these definitions in step.
for (const [key, value] of DEFAULT_SETTINGS) {
  if (SETTING_DEFINITIONS.find((d) => d.key === key)?.default !== value)
    throw new Error(`setting default mismatch for ${key}`);
}

export function definitionOf(key: string): SettingDefinition | undefined {
  return SETTING_DEFINITIONS.find((d) => d.key === key);
}

/** Checks a value against its key's type; returns the normalized text to store. */
export function validateSetting(key: string, value: string): string {
  const def = definitionOf(key);
  if (!def) return value;
  const v = value.trim();
  if (def.kind === 'bool') {
    const t = v.toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(t)) return '1';
    if (['0', 'false', 'no', 'off'].includes(t)) return '0';
    throw new UsageError(`setting ${key} must be 0 or 1, got ${JSON.stringify(value)}`);
  }
  if (def.kind === 'int') {
    if (!/^-?\d+$/.test(v)) throw new UsageError(`setting ${key} must be a whole number, got ${JSON.stringify(value)}`);
    const n = Number(v);
    if ((def.min !== undefined && n < def.min) || (def.max !== undefined && n > def.max)) {
      throw new UsageError(`setting ${key} must be between ${def.min} and ${def.max}, got ${n}`);
    }
    return String(n);
  }
  return value;
}

/**
 * Settings as a job sees them: defaults, then config `settings`, then the database's
 * `settings` table. A malformed value is a UsageError (exit 2) when the job reads it.
 */
export class Settings {
  constructor(private readonly values: Map<string, string>) {}

  static async load(db: Db | null, config: Config, tables: TableMap): Promise<Settings> {
    const values = new Map<string, string>();
    for (const d of SETTING_DEFINITIONS) values.set(d.key, d.default);
    for (const [k, v] of Object.entries(config.value('settings'))) values.set(k, String(v));
    if (db) {
      const table = tables.table('settings');
      if (await db.tableExists(table)) {
        const keyCol = db.quote(tables.column('settings', 'key'));
        const valueCol = db.quote(tables.column('settings', 'value'));
        const rows = await db.query<{ k: string; v: unknown }>(
          `SELECT ${keyCol} AS k, ${valueCol} AS v FROM ${db.quote(table)}`,
        );
        for (const r of rows) values.set(String(r.k), r.v === null ? '' : String(r.v));
      }
    }
    return new Settings(values);
  }

  /** Throws UsageError when the key's value is malformed. */
  check(key: string): void {
    validateSetting(key, this.values.get(key) ?? definitionOf(key)?.default ?? '');
  }

  raw(key: string): string | undefined {
    return this.values.get(key);
  }

  int(key: string): number {
    return Number(validateSetting(key, this.values.get(key) ?? definitionOf(key)?.default ?? ''));
  }

  bool(key: string): boolean {
    return validateSetting(key, this.values.get(key) ?? definitionOf(key)?.default ?? '') === '1';
  }

  entries(): [string, string][] {
    return [...this.values.entries()];
  }
}
