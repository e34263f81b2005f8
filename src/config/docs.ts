import { CONFIG_SCHEMA, type KeySpec } from './schema.js';

/** docs/configuration.md, made from the schema: every key under its section, in schema order. */
export function renderConfigurationDoc(): string {
  const sections = new Map<string, string[]>();
  for (const [key, spec] of Object.entries(CONFIG_SCHEMA) as [string, KeySpec][]) {
    const rows = sections.get(spec.section) ?? [];
    rows.push(`| \`${key}\` | ${typeText(spec)} | ${defaultText(spec)} | ${spec.doc} |`);
    sections.set(spec.section, rows);
  }
  const parts = [
    '# Configuration',
    '',
    '<!-- Generated from src/config/schema.ts by `npm run docs:config`; a test keeps it in step. -->',
    '',
    'The config file is JSON: `--config FILE`, else `$WEBJOBS_CONFIG`, else `./webjobs.config.json` when',
    'present. A dotted key is a path into it: `backup.level` is `{ "backup": { "level": 9 } }`. Relative',
    "paths are relative to the config file's folder. A value of the wrong type or out of range stops the",
    'run with one line and exit code 2 before anything is written. Command-line flags win over the file.',
  ];
  for (const [section, rows] of sections) {
    parts.push('', `## ${section}`, '', '| key | type | default | what it does |', '|---|---|---|---|', ...rows);
  }
  return `${parts.join('\n')}\n`;
}

function typeText(spec: KeySpec): string {
  const range =
    spec.min !== undefined && spec.max !== undefined
      ? ` ${spec.min}–${spec.max}`
      : spec.min !== undefined
        ? ` ≥ ${spec.min}`
        : '';
  switch (spec.type) {
    case 'int':
      return `whole number${range}`;
    case 'number':
      return `number${range}`;
    case 'choice':
      return (spec.choices ?? []).map((c) => `\`${c}\``).join(' or ');
    case 'stringList':
      return 'list of strings';
    case 'numberList':
      return `list of numbers${range}`;
    default:
      return spec.type;
  }
}

function defaultText(spec: KeySpec): string {
  if (spec.defaultText) return spec.defaultText;
  if (spec.default === undefined) return 'none';
  return `\`${JSON.stringify(spec.default)}\``;
}
