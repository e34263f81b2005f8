import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { throwIfAborted } from '../../util/errors.js';
import { quoteIdentifier } from '../identifiers.js';
import { sqliteLiteral } from './sqlite-literal.js';
import type { DumpRequest, DumpResult, SqlSink, TableChecksum } from './types.js';

const q = (name: string) => quoteIdentifier('sqlite', name);
const str = (s: string) => `'${s.replace(/'/g, "''")}'`;

interface ColumnInfo {
  name: string;
  type: string;
  pk: number;
  hidden: number;
}

interface TableShape {
  /** Columns that hold stored values (generated columns are left out: they are never inserted). */
  columns: string[];
  /** The column name to carry the rowid under, when the rowid is not already a column. */
  rowidAlias: string | null;
  orderBy: string;
}

/** Opens a second, read-only connection: the dump reads one snapshot while the app keeps writing. */
export function openSnapshot(file: string): Database.Database {
  const raw = new Database(file, { readonly: true, fileMustExist: true });
  raw.defaultSafeIntegers(true);
  raw.exec('BEGIN');
  raw.prepare('SELECT COUNT(*) FROM sqlite_master').get(); // the read transaction (snapshot) starts here
  return raw;
}

function tableShape(raw: Database.Database, table: string): TableShape {
  const cols = raw.prepare('SELECT name, type, pk, hidden FROM pragma_table_xinfo(?)').all(table) as ColumnInfo[];
  const stored = cols.filter((c) => Number(c.hidden) === 0);
  const listed = raw.prepare('SELECT wr FROM pragma_table_list WHERE name = ? AND schema = ?').get(table, 'main') as { wr: bigint | number } | undefined;
  const withoutRowid = Number(listed?.wr ?? 0) === 1;
  const pkCols = cols.filter((c) => Number(c.pk) > 0).sort((a, b) => Number(a.pk) - Number(b.pk));
  if (withoutRowid) {
    return { columns: stored.map((c) => c.name), rowidAlias: null, orderBy: pkCols.map((c) => q(c.name)).join(', ') };
  }
  const onlyPk = pkCols.length === 1 ? pkCols[0] : undefined;
  const rowidIsColumn = onlyPk !== undefined && onlyPk.type.toUpperCase() === 'INTEGER';
  if (rowidIsColumn) return { columns: stored.map((c) => c.name), rowidAlias: null, orderBy: q(onlyPk.name) };
  // Keep rowids as they are, so a restored table is the same row for row (and checksums agree).
  const taken = new Set(cols.map((c) => c.name.toLowerCase()));
  const alias = ['rowid', '_rowid_', 'oid'].find((a) => !taken.has(a)) ?? null;
  return { columns: stored.map((c) => c.name), rowidAlias: alias, orderBy: alias ?? '1' };
}

function selectSql(table: string, shape: TableShape): string {
  const parts: string[] = [];
  if (shape.rowidAlias) parts.push(`${shape.rowidAlias}, 'integer'`);
  for (const c of shape.columns) {
    const col = q(c);
    // Text is read as its raw bytes so the dump reproduces it byte for byte, whatever it holds.
    parts.push(`CASE WHEN typeof(${col}) = 'text' THEN CAST(${col} AS BLOB) ELSE ${col} END`, `typeof(${col})`);
  }
  return `SELECT ${parts.join(', ')} FROM ${q(table)} ORDER BY ${shape.orderBy}`;
}

/** Writes one consistent snapshot of the named tables (and, for full backups, views and triggers) as SQLite SQL. */
export async function dumpSqlite(file: string, sink: SqlSink, req: DumpRequest): Promise<DumpResult> {
  const raw = openSnapshot(file);
  const maxBytes = req.maxStatementBytes ?? 1024 * 1024;
  const result: DumpResult = { tables: [], views: [], triggers: [] };
  try {
    await sink.write(req.headerLines.map((l) => `-- ${l}\n`).join('') + 'PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n');
    const master = raw.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid").all() as {
      type: string;
      name: string;
      tbl_name: string;
      sql: string;
    }[];
    const wanted = new Set(req.tables);
    const sequences: { name: string; seq: bigint }[] = [];
    const hasSequence = master.some((m) => m.name === 'sqlite_sequence');
    for (const table of req.tables) {
      throwIfAborted(req.signal);
      const def = master.find((m) => m.type === 'table' && m.name === table);
      if (!def) continue;
      const shape = tableShape(raw, table);
      const estimate = Number((raw.prepare(`SELECT COUNT(*) AS n FROM ${q(table)}`).get() as { n: bigint }).n);
      await sink.write(`\n-- Table ${table}\nDROP TABLE IF EXISTS ${q(table)};\n${def.sql};\n`);
      const columnList = [...(shape.rowidAlias ? [shape.rowidAlias] : []), ...shape.columns.map(q)].join(',');
      const head = `INSERT INTO ${q(table)}(${columnList}) VALUES`;
      let stmt = '';
      let rows = 0;
      const hash = createHash('sha256');
      const stmtRows = raw.prepare(selectSql(table, shape)).raw(true);
      for (const row of stmtRows.iterate() as IterableIterator<unknown[]>) {
        const values: string[] = [];
        for (let i = 0; i < row.length; i += 2) values.push(sqliteLiteral(row[i], String(row[i + 1])));
        hashRow(hash, values);
        const tuple = `(${values.join(',')})`;
        stmt = stmt ? `${stmt},\n${tuple}` : `${head}\n${tuple}`;
        rows++;
        if (stmt.length >= maxBytes || rows % 1000 === 0) {
          await sink.write(stmt + ';\n');
          stmt = '';
          req.onProgress?.({ table, rowsDone: rows, rowsEstimate: estimate });
          throwIfAborted(req.signal);
        }
      }
      if (stmt) await sink.write(stmt + ';\n');
      req.onProgress?.({ table, rowsDone: rows, rowsEstimate: estimate });
      result.tables.push({ name: table, rows, checksum: hash.digest('hex') });
      if (hasSequence) {
        const seq = raw.prepare('SELECT seq FROM sqlite_sequence WHERE name = ?').get(table) as { seq: bigint } | undefined;
        if (seq) sequences.push({ name: table, seq: seq.seq });
      }
    }
    if (sequences.length) {
      // AUTOINCREMENT counters: a restored table hands out the same next id as the original.
      await sink.write(
        '\n-- AUTOINCREMENT counters\n' +
          sequences.map((s) => `DELETE FROM sqlite_sequence WHERE name = ${str(s.name)};\nINSERT INTO sqlite_sequence(name, seq) VALUES(${str(s.name)}, ${s.seq.toString()});\n`).join(''),
      );
    }
    const indexes = master.filter((m) => m.type === 'index' && wanted.has(m.tbl_name));
    if (indexes.length) await sink.write('\n-- Indexes\n' + indexes.map((m) => `${m.sql};\n`).join(''));
    if (req.includeViewsAndTriggers) {
      const views = master.filter((m) => m.type === 'view');
      if (views.length) await sink.write('\n-- Views\n' + views.map((m) => `DROP VIEW IF EXISTS ${q(m.name)};\n${m.sql};\n`).join(''));
      result.views = views.map((v) => v.name);
      const triggers = master.filter((m) => m.type === 'trigger');
      if (triggers.length) await sink.write('\n-- Triggers (after the data, so restoring does not fire them)\n' + triggers.map((m) => `${m.sql};\n`).join(''));
      result.triggers = triggers.map((t) => t.name);
    }
    await sink.write(`COMMIT;\n-- ${req.footerLine()}\n`);
    return result;
  } finally {
    raw.exec('COMMIT');
    raw.close();
  }
}

/** Each value's exact literal (type and bytes) feeds the hash, so any difference shows. */
function hashRow(hash: ReturnType<typeof createHash>, literals: string[]): void {
  hash.update(literals.join('\u0001'));
  hash.update('\u0002');
}

/** Row count and a SHA-256 over every stored value (type and bytes), in key order. */
export function checksumSqliteTables(file: string, tables: readonly string[]): TableChecksum[] {
  const raw = openSnapshot(file);
  try {
    return tables.map((table) => {
      const shape = tableShape(raw, table);
      const hash = createHash('sha256');
      let rows = 0;
      for (const row of raw.prepare(selectSql(table, shape)).raw(true).iterate() as IterableIterator<unknown[]>) {
        const values: string[] = [];
        for (let i = 0; i < row.length; i += 2) values.push(sqliteLiteral(row[i], String(row[i + 1])));
        hashRow(hash, values);
        rows++;
      }
      return { table, rows, checksum: hash.digest('hex') };
    });
  } finally {
    raw.exec('COMMIT');
    raw.close();
  }
}
