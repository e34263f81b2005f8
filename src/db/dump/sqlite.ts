import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { throwIfAborted } from '../../util/errors.js';
import { quoteIdentifier } from '../identifiers.js';
import { tupleChunks, type TableShape } from './sqlite-rows.js';
import { isVirtual, rebuildSql, shapeOf, virtualTablePlan } from './sqlite-virtual.js';
import { emptyDumpResult, type DumpRequest, type DumpResult, type SqlSink, type TableChecksum } from './types.js';

const q = (name: string) => quoteIdentifier('sqlite', name);
const TUPLE_SEPARATOR = Buffer.from(',\n');
const STATEMENT_END = Buffer.from(';\n');
const str = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** Opens a second, read-only connection: the dump reads one snapshot while the app keeps writing. */
export function openSnapshot(file: string): Database.Database {
  const raw = new Database(file, { readonly: true, fileMustExist: true });
  raw.defaultSafeIntegers(true);
  // Reads are one pass in key order: better-sqlite3's 16 MB page cache would only be fresh memory
  // to fault in (~4,000 page faults per million rows); 1 MB holds a chunk's pages between its two reads.
  raw.pragma('cache_size = -1024');
  raw.exec('BEGIN');
  raw.prepare('SELECT COUNT(*) FROM sqlite_master').get(); // the read transaction (snapshot) starts here
  return raw;
}

/** Writes one consistent snapshot of the named tables (and, for full backups, views and triggers) as SQLite SQL. */
export async function dumpSqlite(file: string, sink: SqlSink, req: DumpRequest): Promise<DumpResult> {
  const raw = openSnapshot(file);
  const maxBytes = req.maxStatementBytes ?? 1024 * 1024;
  const result: DumpResult = emptyDumpResult(String(raw.prepare('SELECT sqlite_version()').pluck(true).get()));
  const rebuilds: string[] = [];
  try {
    await sink.write(
      req.headerLines.map((l) => `-- ${l}\n`).join('') + 'PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n',
    );
    const master = raw
      .prepare('SELECT type, name, tbl_name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid')
      .all() as {
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
      const intro = Buffer.from(`\n-- Table ${table}\nDROP TABLE IF EXISTS ${q(table)};\n${def.sql};\n`);
      const plan = isVirtual(def.sql) ? virtualTablePlan(def.sql) : { content: 'rows' as const };
      if (plan.content !== 'rows') {
        // The index is created empty; its rows come from the content table (rebuilt after every table) or not at all.
        await sink.write(intro);
        if (plan.content === 'rebuild') rebuilds.push(table);
        else result.warnings.push(`virtual table ${table}: only its definition is backed up (${plan.reason})`);
        const sum = plan.content === 'rebuild' && hashing(req) ? checksumOf(raw, table) : EMPTY;
        result.tables.push({ name: table, rows: sum.rows, checksum: hashing(req) ? sum.checksum : '' });
        continue;
      }
      const shape = shapeOf(raw, table);
      const estimate = rowEstimate(raw, table, shape);
      // One INSERT runs over as many chunks as fit in maxBytes. What goes between chunks (the
      // table's DDL and first head, a separator, or a statement's end and the next head) is the
      // next chunk's prefix, so each chunk reaches the sink as the one buffer SQLite returned.
      const head = Buffer.from(`INSERT INTO ${q(table)}(${shape.select.join(',')}) VALUES\n`);
      const nextStatement = Buffer.concat([STATEMENT_END, head]);
      let glue = Buffer.concat([intro, head]);
      let inStatement = 0;
      let rows = 0;
      // The hash covers every tuple (type and bytes of every value) in key order, whatever the chunk and statement boundaries.
      const hash = createHash('sha256');
      for (const chunk of tupleChunks(raw, table, shape, () => glue)) {
        await sink.write(chunk.bytes);
        const tuples = chunk.bytes.subarray(chunk.prefixBytes);
        if (hashing(req)) hash.update(tuples).update(TUPLE_SEPARATOR);
        inStatement += tuples.length;
        rows += chunk.rows;
        glue = TUPLE_SEPARATOR;
        if (inStatement >= maxBytes) {
          glue = nextStatement;
          inStatement = 0;
          req.onProgress?.({ table, rowsDone: rows, rowsEstimate: estimate });
          throwIfAborted(req.signal);
        }
      }
      // Every chunk leaves its statement open; a table without rows has had nothing written yet.
      await sink.write(rows ? STATEMENT_END : intro);
      req.onProgress?.({ table, rowsDone: rows, rowsEstimate: estimate });
      result.tables.push({ name: table, rows, checksum: hashing(req) ? hash.digest('hex') : '' });
      if (hasSequence) {
        const seq = raw.prepare('SELECT seq FROM sqlite_sequence WHERE name = ?').get(table) as
          { seq: bigint } | undefined;
        if (seq) sequences.push({ name: table, seq: seq.seq });
      }
    }
    if (sequences.length) {
      // AUTOINCREMENT counters: a restored table hands out the same next id as the original.
      await sink.write(
        '\n-- AUTOINCREMENT counters\n' +
          sequences
            .map(
              (s) =>
                `DELETE FROM sqlite_sequence WHERE name = ${str(s.name)};\nINSERT INTO sqlite_sequence(name, seq) VALUES(${str(s.name)}, ${s.seq.toString()});\n`,
            )
            .join(''),
      );
    }
    const indexes = master.filter((m) => m.type === 'index' && wanted.has(m.tbl_name));
    if (indexes.length) await sink.write('\n-- Indexes\n' + indexes.map((m) => `${m.sql};\n`).join(''));
    if (rebuilds.length)
      await sink.write('\n-- Full-text indexes over content tables\n' + rebuilds.map(rebuildSql).join(''));
    if (req.includeViewsAndTriggers) {
      const views = master.filter((m) => m.type === 'view');
      if (views.length)
        await sink.write('\n-- Views\n' + views.map((m) => `DROP VIEW IF EXISTS ${q(m.name)};\n${m.sql};\n`).join(''));
      result.views = views.map((v) => v.name);
      const triggers = master.filter((m) => m.type === 'trigger');
      if (triggers.length)
        await sink.write(
          '\n-- Triggers (after the data, so restoring does not fire them)\n' +
            triggers.map((m) => `${m.sql};\n`).join(''),
        );
      result.triggers = triggers.map((t) => t.name);
    }
    await sink.write(`COMMIT;\n-- ${req.footerLine()}\n`);
    return result;
  } finally {
    raw.exec('COMMIT');
    raw.close();
  }
}

/**
 * Rows to expect, for progress: a rowid table's rowid span (two index probes; COUNT(*) would read
 * the whole table once more before the first row is written: 0.1 s per million rows).
 */
function rowEstimate(raw: Database.Database, table: string, shape: TableShape): number {
  const sql = shape.rowid
    ? `SELECT (SELECT max(${shape.rowid}) FROM ${q(table)}) - (SELECT min(${shape.rowid}) FROM ${q(table)}) + 1`
    : `SELECT COUNT(*) FROM ${q(table)}`;
  const n = raw.prepare(sql).pluck(true).get() as bigint | number | null;
  return Math.max(0, Number(n ?? 0));
}

const hashing = (req: DumpRequest) => req.checksums ?? true;

const EMPTY = { rows: 0, checksum: createHash('sha256').digest('hex') };

/** Row count and a SHA-256 over every stored value's exact literal (type and bytes), in key order, as the dump computes it. */
function checksumOf(raw: Database.Database, table: string): { rows: number; checksum: string } {
  const def = raw.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) as
    { sql: string | null } | undefined;
  // A contentless index shows rowids with no text: the backup holds none, so neither does the comparison.
  if (def?.sql && isVirtual(def.sql) && virtualTablePlan(def.sql).content === 'definition') return EMPTY;
  const shape = shapeOf(raw, table);
  const hash = createHash('sha256');
  let rows = 0;
  for (const chunk of tupleChunks(raw, table, shape)) {
    hash.update(chunk.bytes.subarray(chunk.prefixBytes)).update(TUPLE_SEPARATOR);
    rows += chunk.rows;
  }
  return { rows, checksum: hash.digest('hex') };
}

export function checksumSqliteTables(file: string, tables: readonly string[]): TableChecksum[] {
  const raw = openSnapshot(file);
  try {
    return tables.map((table) => ({ table, ...checksumOf(raw, table) }));
  } finally {
    raw.exec('COMMIT');
    raw.close();
  }
}
