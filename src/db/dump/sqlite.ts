import Database from 'better-sqlite3';
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { throwIfAborted } from '../../util/errors.js';
import { quoteIdentifier } from '../identifiers.js';
import { Out } from './out.js';
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

/**
 * The query behind every dumped row: one string per row, built by SQLite itself, so JS only
 * copies it. When every text value of the row is printable ASCII (no NUL: length() stops at a NUL,
 * so its count differs from the byte count; no CR: the sqlite3 shell drops a CR before a newline
 * while reading; GLOB also refuses invalid UTF-8), the string is the finished tuple `(lit,…)`: quote()
 * formats integers, blobs (X'..'), NULL and such text exactly, and reals exactly too (15
 * significant digits when they round-trip, else 20; ±Inf as ±9.0e+999), except that it loses the
 * sign of -0.0, which atan2 detects. Any other row comes tagged: char(1), then its values joined by
 * commas, each text as `T` + the hex of its bytes (none of these parts holds a comma), for
 * tupleOf to finish in JS.
 */
function selectSql(table: string, shape: TableShape): string {
  const cols = [...(shape.rowidAlias ? [shape.rowidAlias] : []), ...shape.columns.map(q)];
  const plain = cols.map((c) => `(typeof(${c}) <> 'text' OR (length(${c}) = length(CAST(${c} AS BLOB)) AND ${c} NOT GLOB '*[^ -~]*'))`).join(' AND ');
  const lit = (c: string) => `CASE WHEN ${c} = 0 AND typeof(${c}) = 'real' AND atan2(${c}, -1) < 0 THEN '-0.0' ELSE quote(${c}) END`;
  const tagged = (c: string) => `CASE WHEN typeof(${c}) = 'text' THEN 'T' || hex(${c}) ELSE ${lit(c)} END`;
  return (
    `SELECT CASE WHEN ${plain} THEN '(' || ${cols.map(lit).join(" || ',' || ")} || ')' ` +
    `ELSE char(1) || ${cols.map(tagged).join(" || ',' || ")} END FROM ${q(table)} ORDER BY ${shape.orderBy}`
  );
}

/** Text: quoted when its bytes are valid UTF-8 without NUL or CR (the sqlite3 shell drops a CR before a newline), else CAST(X'..' AS TEXT). */
function textLiteral(bytes: Buffer): string {
  if (isUtf8(bytes) && bytes.indexOf(0) < 0 && bytes.indexOf(13) < 0) {
    const text = bytes.toString('utf8');
    return text.includes("'") ? `'${text.replace(/'/g, "''")}'` : `'${text}'`;
  }
  return `CAST(X'${bytes.toString('hex')}' AS TEXT)`;
}

/** One row of selectSql as its tuple text. */
function tupleOf(row: string): string {
  if (row.charCodeAt(0) !== 1) return row;
  const parts = row.slice(1).split(',');
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] as string;
    if (p.charCodeAt(0) === 0x54) parts[i] = textLiteral(Buffer.from(p.slice(1), 'hex')); // 'T'
  }
  return `(${parts.join(',')})`;
}

/** Each row as a SQL tuple, in key order. */
function* tuples(raw: Database.Database, table: string, shape: TableShape): Generator<string> {
  for (const row of raw.prepare(selectSql(table, shape)).pluck(true).iterate() as IterableIterator<string>) yield tupleOf(row);
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
      // Tuples go straight into a byte buffer, one statement at a time: no per-row strings to collect.
      const headBytes = Buffer.from(`${head}\n`);
      const out = new Out(maxBytes + 64 * 1024);
      out.bytes(headBytes);
      let inStatement = 0;
      let rows = 0;
      // The hash covers every tuple (type and bytes of every value) in key order, whatever the batch boundaries.
      const hash = createHash('sha256');
      const hashing = req.checksums ?? true;
      const flush = async () => {
        if (hashing) {
          hash.update(out.buf.subarray(headBytes.length, out.pos));
          hash.update(',\n');
        }
        out.ascii(';\n');
        const statement = out.take();
        out.bytes(headBytes);
        inStatement = 0;
        await sink.write(statement);
        req.onProgress?.({ table, rowsDone: rows, rowsEstimate: estimate });
        throwIfAborted(req.signal);
      };
      for (const row of raw.prepare(selectSql(table, shape)).pluck(true).iterate() as IterableIterator<string>) {
        if (inStatement) out.ascii(',\n');
        if (row.charCodeAt(0) !== 1) out.ascii(row); // SQLite's own tuple text: ASCII only
        else out.utf8(tupleOf(row));
        rows++;
        inStatement++;
        if (out.pos >= maxBytes) await flush();
      }
      if (inStatement) await flush();
      req.onProgress?.({ table, rowsDone: rows, rowsEstimate: estimate });
      result.tables.push({ name: table, rows, checksum: hashing ? hash.digest('hex') : '' });
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

/** Row count and a SHA-256 over every stored value's exact literal (type and bytes), in key order, as the dump computes it. */
export function checksumSqliteTables(file: string, tables: readonly string[]): TableChecksum[] {
  const raw = openSnapshot(file);
  try {
    return tables.map((table) => {
      const shape = tableShape(raw, table);
      const hash = createHash('sha256');
      let rows = 0;
      let batch: string[] = [];
      const flush = () => {
        hash.update(batch.join(',\n'));
        hash.update(',\n');
        batch = [];
      };
      for (const tuple of tuples(raw, table, shape)) {
        batch.push(tuple);
        rows++;
        if (batch.length >= 1000) flush();
      }
      if (batch.length) flush();
      return { table, rows, checksum: hash.digest('hex') };
    });
  } finally {
    raw.exec('COMMIT');
    raw.close();
  }
}
