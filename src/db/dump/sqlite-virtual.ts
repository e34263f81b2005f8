import type Database from 'better-sqlite3';
import { quoteIdentifier } from '../identifiers.js';
import { tableShape, type ColumnKind, type TableShape } from './sqlite-rows.js';

/*
 * Virtual tables (FTS3/4/5, R*Tree…) are written as their CREATE VIRTUAL TABLE and the rows
 * they show, never as their shadow tables: the module rebuilds its index from the rows, so the
 * restore answers the same queries on any SQLite build with the module.
 */

const q = (name: string) => quoteIdentifier('sqlite', name);

export interface VirtualTablePlan {
  /**
   * rows: INSERT the rows the table shows; rebuild: an external-content index, rebuilt from its
   * content table after the tables; definition: only the CREATE (the rows cannot be read back).
   */
  content: 'rows' | 'rebuild' | 'definition';
  /** Why only the definition is kept, for the warning. */
  reason?: string;
}

export const isVirtual = (createSql: string) => /^\s*CREATE\s+VIRTUAL\s+TABLE\b/i.test(createSql);

function moduleOf(createSql: string): string {
  return (/\bUSING\s+(\w+)/i.exec(createSql)?.[1] ?? '').toLowerCase();
}

/** The FTS `content=` option: undefined when absent, '' for a contentless index, else the content table. */
function contentOption(createSql: string): string | undefined {
  const m = /[(,]\s*content\s*=\s*(?:'((?:[^']|'')*)'|"((?:[^"]|"")*)"|(\w+))/i.exec(createSql);
  if (!m) return undefined;
  return (m[1] ?? m[2] ?? m[3] ?? '').replace(/''|""/g, (d) => d[0] as string);
}

export function virtualTablePlan(createSql: string): VirtualTablePlan {
  const module = moduleOf(createSql);
  if (!module.startsWith('fts')) return { content: 'rows' };
  const content = contentOption(createSql);
  if (content === undefined) return { content: 'rows' };
  if (content === '')
    return { content: 'definition', reason: `a contentless ${module} index keeps no text to back up` };
  return { content: 'rebuild' };
}

/**
 * The rows of a virtual table as the dump writes them: R*Tree's first column is its rowid; other
 * modules show the rowid separately. Hidden columns (FTS5's rank and table-named column) are left out.
 */
export function virtualTableShape(raw: Database.Database, table: string, createSql: string): TableShape {
  const cols = (
    raw.prepare('SELECT name, hidden FROM pragma_table_xinfo(?)').all(table) as { name: string; hidden: number }[]
  ).filter((c) => Number(c.hidden) === 0);
  const rtree = moduleOf(createSql).startsWith('rtree');
  const select = rtree ? cols.map((c) => q(c.name)) : ['rowid', ...cols.map((c) => q(c.name))];
  const kinds: ColumnKind[] = select.map((_, i) => (i === 0 ? 'rowid' : 'other'));
  // No rowid-range stepping: virtual tables answer it slowly or not at all; they are read in rowid order once.
  return { select, kinds, rowid: null, orderBy: select[0] as string };
}

/** The shape of any table the dump or a checksum reads. */
export function shapeOf(raw: Database.Database, table: string): TableShape {
  const row = raw.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) as
    { sql: string | null } | undefined;
  const sql = row?.sql ?? '';
  return isVirtual(sql) ? virtualTableShape(raw, table, sql) : tableShape(raw, table);
}

/** The statement that rebuilds an external-content FTS index from its content table. */
export const rebuildSql = (table: string) => `INSERT INTO ${q(table)}(${q(table)}) VALUES('rebuild');\n`;
