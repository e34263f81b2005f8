import Database from 'better-sqlite3';
import { isUtf8 } from 'node:buffer';
import { quoteIdentifier } from '../identifiers.js';

/**
 * How a SQLite table's rows become SQL tuples: the queries, and the reading of a rowid range in
 * chunks. Used by the dump and by the checksums --verify compares.
 */

const q = (name: string) => quoteIdentifier('sqlite', name);

/** Arguments per printf(): SQLite builds may allow as few as 127 per function, so wide rows nest printf()s. */
const PRINTF_ARGS = 100;

/**
 * Terms joined by AND or OR as a balanced tree: SQLite refuses expressions nested deeper than
 * 1000, which a flat chain over a table's columns reaches at about 500 columns.
 */
function balanced(op: 'AND' | 'OR', terms: string[]): string {
  if (terms.length === 1) return terms[0] as string;
  const half = Math.ceil(terms.length / 2);
  return `(${balanced(op, terms.slice(0, half))}) ${op} (${balanced(op, terms.slice(half))})`;
}

interface ColumnInfo {
  name: string;
  type: string;
  pk: number;
  hidden: number;
}

/** What a column's declared type lets the fast path assume about its values (see typedTupleSql). */
export type ColumnKind = 'rowid' | 'integer' | 'text' | 'other';

export interface TableShape {
  /** What each tuple holds, in order: stored columns (generated ones are never inserted), led by the rowid when there is one. */
  select: string[];
  /** The kind of each entry of `select`. */
  kinds: ColumnKind[];
  /** The expression naming the rowid (always select[0]), or null for WITHOUT ROWID tables and tables whose rowid has no free name. */
  rowid: string | null;
  orderBy: string;
}

/** SQLite's affinity rules: a declared type holding INT converts integral numbers to integers, one holding CHAR, CLOB or TEXT numbers to text. */
function kindOf(declared: string): ColumnKind {
  const type = declared.toUpperCase();
  if (type.includes('INT')) return 'integer';
  if (type.includes('CHAR') || type.includes('CLOB') || type.includes('TEXT')) return 'text';
  return 'other';
}

export function tableShape(raw: Database.Database, table: string): TableShape {
  const cols = raw.prepare('SELECT name, type, pk, hidden FROM pragma_table_xinfo(?)').all(table) as ColumnInfo[];
  const stored = cols.filter((c) => Number(c.hidden) === 0);
  const shape = (
    lead: { expr: string; kind: ColumnKind } | null,
    rest: ColumnInfo[],
    rowid: string | null,
    orderBy: string,
  ): TableShape => {
    const entries = [...(lead ? [lead] : []), ...rest.map((c) => ({ expr: q(c.name), kind: kindOf(c.type) }))];
    return { select: entries.map((e) => e.expr), kinds: entries.map((e) => e.kind), rowid, orderBy };
  };
  const listed = raw.prepare('SELECT wr FROM pragma_table_list WHERE name = ? AND schema = ?').get(table, 'main') as
    { wr: bigint | number } | undefined;
  const pkCols = cols.filter((c) => Number(c.pk) > 0).sort((a, b) => Number(a.pk) - Number(b.pk));
  if (Number(listed?.wr ?? 0) === 1) return shape(null, stored, null, pkCols.map((c) => q(c.name)).join(', '));
  const onlyPk = pkCols.length === 1 ? pkCols[0] : undefined;
  if (onlyPk !== undefined && onlyPk.type.toUpperCase() === 'INTEGER') {
    // The rowid is this column: it goes first, where the reader finds it to re-read a row.
    const key = q(onlyPk.name);
    return shape(
      { expr: key, kind: 'rowid' },
      stored.filter((c) => c !== onlyPk),
      key,
      key,
    );
  }
  // Keep rowids as they are, so a restored table is the same row for row (and checksums agree).
  const taken = new Set(cols.map((c) => c.name.toLowerCase()));
  const alias = ['rowid', '_rowid_', 'oid'].find((a) => !taken.has(a));
  if (alias) return shape({ expr: alias, kind: 'rowid' }, stored, alias, alias);
  return shape(null, stored, null, '1');
}

/**
 * A value as SQLite's quote() writes it, which is exact for integers, blobs (X'..'), NULL and
 * reals (15 significant digits when they round-trip, else 20; ±Inf as ±9.0e+999), except that it
 * loses the sign of -0.0 (atan2 detects it).
 */
const literal = (c: string) => `CASE WHEN ${c} = 0 AND atan2(${c}, -1) < 0 THEN '-0.0' ELSE quote(${c}) END`;

/** Values joined by commas, built by printf(): each value as a format and its argument, at most PRINTF_ARGS per printf. */
function printfJoin(values: Array<{ format: string; arg: string }>): string {
  const groups: Array<{ format: string; arg: string }> = [];
  for (let i = 0; i < values.length; i += PRINTF_ARGS) {
    const part = values.slice(i, i + PRINTF_ARGS);
    groups.push({
      format: '%s',
      arg: `printf('${part.map((v) => v.format).join(',')}', ${part.map((v) => v.arg).join(', ')})`,
    });
  }
  return groups.length === 1 ? (groups[0] as { arg: string }).arg : printfJoin(groups);
}

/** A tuple `(…)`: the values joined by commas in parentheses, by one printf() when they fit in one (a copy less per row than wrapping printfJoin's result). */
const printfTuple = (values: Array<{ format: string; arg: string }>) =>
  values.length <= PRINTF_ARGS
    ? `printf('(${values.map((v) => v.format).join(',')})', ${values.map((v) => v.arg).join(', ')})`
    : `printf('(%s)', ${printfJoin(values)})`;

/** A row for tupleOf to finish in JS: char(1), then its values joined by commas, each text as `T` + the hex of its bytes (no part holds a comma). */
const taggedRow = (select: string[]) =>
  `char(1) || ${printfJoin(select.map((c) => ({ format: '%s', arg: `CASE WHEN typeof(${c}) = 'text' THEN 'T' || hex(${c}) ELSE ${literal(c)} END` })))}`;

/** The tuple `(lit,…)` of any row, each value through quote(). */
function tupleSql(select: string[]): string {
  return printfTuple(select.map((c) => ({ format: '%s', arg: `quote(${c})` })));
}

/**
 * The same tuple, cheaper, for the row whose values are what their columns' types make usual:
 * then an integer column's value goes to printf's %d and a text column's to %Q (what quote()
 * itself uses) with no quote() call, and the rest through literal(). The check is typeof() per
 * integer or text value (a third cheaper than the comparisons it replaced), the usual case tested
 * first, and one instr() per text value for a NUL; a NULL or a real in an integer column, a blob
 * in a text column and the like take the general tuple.
 */
function typedTupleSql(select: string[], kinds: ColumnKind[]): { check: string; tuple: string } {
  const checks: string[] = [];
  const values = select.map((c, i) => {
    const kind = kinds[i];
    if (kind === 'rowid') return { format: '%d', arg: c };
    if (kind === 'integer') {
      checks.push(`typeof(${c}) = 'integer'`);
      return { format: '%d', arg: c };
    }
    if (kind === 'text') {
      checks.push(`((typeof(${c}) = 'text' AND instr(${c}, char(0)) = 0) OR ${c} IS NULL)`);
      return { format: '%Q', arg: c };
    }
    checks.push(`(${c} IS NULL OR ${c} < '' COLLATE BINARY OR ${c} >= x'' OR instr(${c}, char(0)) = 0)`);
    return { format: '%s', arg: literal(c) };
  });
  return { check: checks.length ? balanced('AND', checks) : '1', tuple: printfTuple(values) };
}

/**
 * True for a row quote() would get wrong in a way its tuple does not show: a -0.0 (written as
 * 0.0) or text holding a NUL (quote() stops there). Two comparisons per value, no function call
 * for the common integer or text value.
 */
function hiddenTrapSql(select: string[]): string {
  return balanced(
    'OR',
    select.map(
      (c) =>
        `(${c} = 0 AND atan2(${c}, -1) < 0) OR (${c} >= '' COLLATE BINARY AND ${c} < x'' AND instr(${c}, char(0)) > 0)`,
    ),
  );
}

/**
 * A rowid range of a table in one query: the prefix bound first, then its rows' tuples joined
 * by ',\n', as bytes (SQLite does the formatting and joining; JS gets one buffer, never a string
 * per row), with its row count. Each row takes the typed tuple when its values pass
 * the check, else the general one; both write text as quote() does, which is exact unless the
 * text holds a NUL, a CR (the sqlite3 shell drops a CR before a newline while reading) or bytes
 * that are not UTF-8. A row with a NUL or -0.0 that the typed tuple cannot take is replaced by char(1). So a chunk holding no byte 1, no CR
 * and only UTF-8 is finished as it is, and any other is read again row by row (rowsSql).
 */
function chunkSql(table: string, shape: TableShape): string {
  const { select, kinds, rowid } = shape;
  const typed = typedTupleSql(select, kinds);
  return (
    `SELECT CAST(? || group_concat(webjobs_tuple, ',\n') AS BLOB), count(*) FROM (` +
    `SELECT CASE WHEN ${typed.check} THEN ${typed.tuple} WHEN ${hiddenTrapSql(select)} THEN char(1) ELSE ${tupleSql(select)} END AS webjobs_tuple ` +
    `FROM ${q(table)} WHERE ${rowid} BETWEEN ? AND ? ORDER BY ${rowid})`
  );
}

/**
 * The rowid that starts the next chunk: the first after `n` rows from a bound, found by stepping
 * the b-tree without reading a column. Chunks are then plain rowid ranges, so the chunk query
 * keeps no min()/max() per row (~10 % of its time).
 */
function nextChunkStartSql(table: string, rowid: string): string {
  return `SELECT ${rowid} FROM ${q(table)} WHERE ${rowid} BETWEEN ? AND ? ORDER BY ${rowid} LIMIT 1 OFFSET ?`;
}

/** The rows of a rowid range one by one: each a tuple, or tagged when it hides a trap. */
function rowsSql(table: string, shape: TableShape): string {
  const { select, rowid } = shape;
  return `SELECT CASE WHEN ${hiddenTrapSql(select)} THEN ${taggedRow(select)} ELSE ${tupleSql(select)} END FROM ${q(table)} WHERE ${rowid} BETWEEN ? AND ? ORDER BY ${rowid}`;
}

/**
 * The query for tables without a usable rowid (WITHOUT ROWID, or every rowid name taken by a
 * column): each value checked in SQL. A row whose text is all printable ASCII (no NUL: length()
 * stops at a NUL, so its count differs from the byte count; GLOB also refuses invalid UTF-8 and CR)
 * is a finished tuple; any other comes tagged.
 */
function checkedSelectSql(table: string, shape: TableShape): string {
  const { select } = shape;
  const plain = balanced(
    'AND',
    select.map(
      (c) => `(typeof(${c}) <> 'text' OR (length(${c}) = length(CAST(${c} AS BLOB)) AND ${c} NOT GLOB '*[^ -~]*'))`,
    ),
  );
  return `SELECT CASE WHEN ${plain} THEN ${printfTuple(select.map((c) => ({ format: '%s', arg: literal(c) })))} ELSE ${taggedRow(select)} END FROM ${q(table)} ORDER BY ${shape.orderBy}`;
}

/** Text: quoted when its bytes are valid UTF-8 without NUL or CR (the sqlite3 shell drops a CR before a newline), else CAST(X'..' AS TEXT). */
function textLiteral(bytes: Buffer): string {
  if (isUtf8(bytes) && bytes.indexOf(0) < 0 && bytes.indexOf(13) < 0) {
    const text = bytes.toString('utf8');
    return text.includes("'") ? `'${text.replace(/'/g, "''")}'` : `'${text}'`;
  }
  return `CAST(X'${bytes.toString('hex')}' AS TEXT)`;
}

/** One row of either query as its tuple text. */
function tupleOf(row: string): string {
  if (row.charCodeAt(0) !== 1) return row;
  const parts = row.slice(1).split(',');
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] as string;
    if (p.charCodeAt(0) === 0x54) parts[i] = textLiteral(Buffer.from(p.slice(1), 'hex')); // 'T'
  }
  return `(${parts.join(',')})`;
}

/** A tuple from quote() that may not be exact: it holds a CR, or U+FFFD (maybe decoded from bytes that are not UTF-8). */
const suspectTuple = /[\r\uFFFD]/;

/** The rowid a tuple or tagged row starts with (its first value, after one character). */
function leadingRowid(row: string): bigint {
  const end = row.search(/[,)]/);
  return BigInt(row.slice(1, end < 0 ? undefined : end));
}

/** A run of rows as finished tuples joined by ',\n', in UTF-8, after the prefix asked for. */
interface TupleChunk {
  bytes: Buffer;
  /** How many of the leading bytes are the prefix. */
  prefixBytes: number;
  rows: number;
}

/** The bytes the caller wants in front of the next chunk (a separator, a statement's end and head), or nothing. */
type ChunkPrefix = () => Buffer;

const NO_PREFIX: ChunkPrefix = () => Buffer.alloc(0);

/** Bytes of tuples per chunk: few chunks for JS to handle, memory still flat. */
const CHUNK_BYTES = 512 * 1024;
const MAX_CHUNK_ROWS = 50_000;

const MIN_ROWID = -(2n ** 63n);
const MAX_ROWID = 2n ** 63n - 1n;

/**
 * The rows of the table as finished SQL tuples, in rowid (or key) order, a chunk at a time:
 * those whose rowid is from `lo` to `hi` (a table without a usable rowid is read whole). Each
 * chunk starts with what `prefix` returns when it is read, joined in by SQLite: the chunk is then
 * one buffer the writer passes on as it is, where a separate separator would have it copied into a
 * new one (512 KB of garbage per chunk, memory the main thread faults in).
 */
export function* tupleChunks(
  raw: Database.Database,
  table: string,
  shape: TableShape,
  prefix: ChunkPrefix = NO_PREFIX,
  lo = MIN_ROWID,
  hi = MAX_ROWID,
): Generator<TupleChunk> {
  /** Tuples finished in JS, joined behind the prefix. */
  const joined = (head: Buffer, tuples: string[]): TupleChunk => ({
    bytes: Buffer.concat([head, Buffer.from(tuples.join(',\n'))]),
    prefixBytes: head.length,
    rows: tuples.length,
  });
  if (shape.rowid === null) {
    let tuples: string[] = [];
    let length = 0;
    for (const row of raw.prepare(checkedSelectSql(table, shape)).pluck(true).iterate() as IterableIterator<string>) {
      const tuple = tupleOf(row);
      tuples.push(tuple);
      length += tuple.length;
      if (length >= CHUNK_BYTES || tuples.length >= MAX_CHUNK_ROWS) {
        yield joined(prefix(), tuples);
        tuples = [];
        length = 0;
      }
    }
    if (tuples.length) yield joined(prefix(), tuples);
    return;
  }
  const nextStart = raw.prepare(nextChunkStartSql(table, shape.rowid)).pluck(true);
  const chunk = raw.prepare(chunkSql(table, shape)).raw(true);
  const rowByRow = raw.prepare(rowsSql(table, shape)).pluck(true);
  const reread = raw.prepare(`SELECT ${taggedRow(shape.select)} FROM ${q(table)} WHERE ${shape.rowid} = ?`).pluck(true);
  let from: bigint | undefined = lo;
  let rowsPerChunk = 1000;
  // While every rowid of the last range held a row, the next range is worked out: n rowids hold
  // at most n rows, so it is never too big, and the b-tree walk is saved (~45 ms per million
  // rows). After a gap, ranges are found by the walk again.
  let dense = false;
  while (from !== undefined && from <= hi) {
    let next: bigint | undefined;
    if (dense) next = hi - from >= BigInt(rowsPerChunk) ? from + BigInt(rowsPerChunk) : undefined;
    else next = nextStart.get(from, hi, rowsPerChunk) as bigint | undefined;
    const to = next === undefined ? hi : next - 1n;
    const head = prefix();
    const [bytes, count] = chunk.get(head, from, to) as [Buffer | null, bigint];
    const rows = Number(count);
    if (rows === 0 || bytes === null) {
      if (!dense) return; // the walk found no row from `from` on
      dense = false; // a worked-out range fell in a gap: walk from its end
      from = next;
      continue;
    }
    dense = to - from + 1n === BigInt(rows);
    const range: [bigint, bigint] = [from, to];
    from = next;
    const body = bytes.subarray(head.length);
    rowsPerChunk = Math.max(1, Math.min(MAX_CHUNK_ROWS, Math.floor((CHUNK_BYTES * rows) / Math.max(1, body.length))));
    if (isUtf8(body) && body.indexOf(13) < 0 && body.indexOf(1) < 0) {
      yield { bytes, prefixBytes: head.length, rows };
      continue;
    }
    const tuples = (rowByRow.all(...range) as string[]).map((row) => {
      if (row.charCodeAt(0) === 1 || !suspectTuple.test(row)) return tupleOf(row);
      return tupleOf(reread.get(leadingRowid(row)) as string);
    });
    yield joined(head, tuples);
  }
}
