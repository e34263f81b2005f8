import type { Dialect } from '../types.js';

/**
 * The first and last lines of a webjobs backup. restore-db reads both before touching a
 * target: a file without them is not ours, or is truncated.
 */
const MAGIC = '-- webjobs backup format 1';
export const FOOTER_PREFIX = 'webjobs backup completed';

export interface BackupHeader {
  engine: Dialect;
  type: string;
  tables: string[];
  created: string;
  source: string;
}

export function headerLines(h: BackupHeader, version: string): string[] {
  return [
    MAGIC.slice(3),
    `Engine: ${h.engine}`,
    `Type: ${h.type}`,
    `Source: ${h.source}`,
    `Created: ${h.created}`,
    `Tables: ${JSON.stringify(h.tables)}`,
    `Generator: webjobs ${version}`,
    'Restore: webjobs restore-db FILE --db URL' +
      (h.engine === 'mysql' ? '  (or: gunzip -c FILE | mysql DB)' : '  (or: gunzip -c FILE | sqlite3 NEW.sqlite)'),
  ];
}

export function parseHeader(lines: string[]): BackupHeader | null {
  if (lines[0] !== MAGIC) return null;
  const field = (name: string) => lines.find((l) => l.startsWith(`-- ${name}: `))?.slice(name.length + 5);
  const engine = field('Engine');
  const tablesText = field('Tables');
  if ((engine !== 'sqlite' && engine !== 'mysql') || !tablesText) return null;
  let tables: unknown;
  try {
    tables = JSON.parse(tablesText);
  } catch {
    return null;
  }
  if (!Array.isArray(tables) || tables.some((t) => typeof t !== 'string')) return null;
  return {
    engine,
    type: field('Type') ?? '',
    tables: tables as string[],
    created: field('Created') ?? '',
    source: field('Source') ?? '',
  };
}
