import { Command } from '../cli/commander.js';
import { action } from '../cli/action.js';
import { addCommonOptions, examples, globalOptions } from '../cli/common-options.js';
import { buildEnvironment } from '../cli/environment.js';
import { printJson } from '../cli/output.js';
import type { Config } from '../config/config.js';
import { definitionOf, SETTING_DEFINITIONS, validateSetting } from '../config/settings.js';
import { TableMap } from '../config/tables.js';
import { upsertSql } from '../db/dialect.js';
import { createTableSql, REFERENCE_TABLES } from '../db/schema.js';
import type { Db } from '../db/types.js';
import { errorMessage, UsageError } from '../util/errors.js';

export interface SettingRow {
  key: string;
  value: string;
  default: string | null;
  /** Where the value comes from: the database's settings table, config `settings`, or the built-in default. */
  source: 'database' | 'config' | 'default';
  kind: string;
  description: string;
  /** Set when the stored value does not pass its type check (jobs reading it fail with exit 2). */
  invalid?: string;
}

async function storedSettings(db: Db, tables: TableMap): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const table = tables.table('settings');
  if (!(await db.tableExists(table))) return out;
  const k = db.quote(tables.column('settings', 'key'));
  const v = db.quote(tables.column('settings', 'value'));
  for (const r of await db.query<{ k: unknown; v: unknown }>(
    `SELECT ${k} AS k, ${v} AS v FROM ${db.quote(table)} ORDER BY ${k}`,
  )) {
    out.set(String(r.k), r.v === null || r.v === undefined ? '' : String(r.v));
  }
  return out;
}

async function allSettings(db: Db, config: Config, tables: TableMap): Promise<SettingRow[]> {
  const stored = await storedSettings(db, tables);
  const fromConfig = config.value('settings');
  const keys = [
    ...SETTING_DEFINITIONS.map((d) => d.key),
    ...[...stored.keys(), ...Object.keys(fromConfig)].filter((k) => !definitionOf(k)).sort(),
  ];
  return [...new Set(keys)].map((key) => {
    const def = definitionOf(key);
    const source = stored.has(key) ? 'database' : key in fromConfig ? 'config' : 'default';
    const value = stored.get(key) ?? (key in fromConfig ? String(fromConfig[key]) : (def?.default ?? ''));
    const row: SettingRow = {
      key,
      value,
      default: def?.default ?? null,
      source,
      kind: def?.kind ?? 'string',
      description: def?.description ?? '',
    };
    try {
      validateSetting(key, value);
    } catch (err) {
      row.invalid = errorMessage(err);
    }
    return row;
  });
}

async function ensureSettingsTable(db: Db, tables: TableMap): Promise<void> {
  const table = tables.table('settings');
  if (await db.tableExists(table)) return;
  const spec = REFERENCE_TABLES.find((t) => t.name === 'settings')!;
  const mapped = {
    ...spec,
    name: table,
    columns: spec.columns.map((c) => ({ ...c, name: tables.column('settings', c.name) })),
    primaryKey: spec.primaryKey?.map((c) => tables.column('settings', c)),
  };
  for (const stmt of createTableSql(db, mapped)) await db.execute(stmt);
}

export function register(program: Command): void {
  const settings = program
    .command('settings')
    .description('The settings table (seed keys with their types and defaults): list, get, set');

  const list = settings
    .command('list')
    .description('Every known setting: value, default, and where the value comes from');
  addCommonOptions(list);
  list.action(
    action(async () => {
      const env = buildEnvironment(globalOptions(list));
      const db = await env.openDb();
      try {
        const rows = await allSettings(db, env.config, new TableMap(env.config));
        if (env.json) printJson({ settings: rows });
        else {
          const w = Math.max(...rows.map((r) => r.key.length));
          for (const r of rows) {
            const def = r.default !== null && r.value !== r.default ? ` (default ${r.default})` : '';
            process.stdout.write(
              `${r.key.padEnd(w)}  ${r.value.padEnd(8)} ${r.source.padEnd(8)} ${r.description}${def}${r.invalid ? `  INVALID: ${r.invalid}` : ''}\n`,
            );
          }
        }
        return rows.some((r) => r.invalid) ? 1 : 0;
      } finally {
        await db.close();
      }
    }),
  );

  const get = settings.command('get').description("One setting's value (stdout: the value alone)").argument('<key>');
  addCommonOptions(get);
  get.action(
    action(async (key: string) => {
      const env = buildEnvironment(globalOptions(get));
      const db = await env.openDb();
      try {
        const row = (await allSettings(db, env.config, new TableMap(env.config))).find((r) => r.key === key);
        if (!row)
          throw new UsageError(
            `unknown setting ${JSON.stringify(key)} (known: ${SETTING_DEFINITIONS.map((d) => d.key).join(', ')})`,
          );
        if (env.json) printJson(row);
        else process.stdout.write(row.value + '\n');
        return 0;
      } finally {
        await db.close();
      }
    }),
  );

  const set = settings
    .command('set')
    .description('Store a setting in the settings table; the value is checked by its type first')
    .argument('<key>')
    .argument('<value>');
  addCommonOptions(set);
  examples(settings, [
    'webjobs settings list',
    'webjobs settings get cache-warming-enabled',
    'webjobs settings set cache-warming-enabled 1',
    'webjobs settings set circuit-breaker-failure-threshold 3',
  ]);
  set.action(
    action(async (key: string, value: string) => {
      if (!definitionOf(key))
        throw new UsageError(
          `unknown setting ${JSON.stringify(key)} (known: ${SETTING_DEFINITIONS.map((d) => d.key).join(', ')})`,
        );
      const normalized = validateSetting(key, value);
      const env = buildEnvironment(globalOptions(set));
      const tables = new TableMap(env.config);
      const db = await env.openDb();
      try {
        await ensureSettingsTable(db, tables);
        const before = (await storedSettings(db, tables)).get(key) ?? null;
        await db.execute(
          upsertSql(
            db,
            tables.table('settings'),
            [tables.column('settings', 'key'), tables.column('settings', 'value')],
            [tables.column('settings', 'key')],
          ),
          [key, normalized],
        );
        env.logger.info(`setting ${key}: ${before === null ? '(unset)' : before} -> ${normalized}`);
        if (env.json) printJson({ key, value: normalized, previous: before });
        return 0;
      } finally {
        await db.close();
      }
    }),
  );
}
