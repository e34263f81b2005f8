import { createHash, randomBytes, type Hash } from 'node:crypto';
import mysql from 'mysql2';
import type { Connection as CallbackConnection, FieldPacket } from 'mysql2';
import type { Connection as PromiseConnection } from 'mysql2/promise';
import { throwIfAborted } from '../../util/errors.js';
import { quoteIdentifier } from '../identifiers.js';
import { connectionConfig, MysqlDb, startStreamingQuery } from '../mysql.js';
import { Out } from './out.js';
import type { Db } from '../types.js';
import { splitRowStatements } from './mysql-large-row.js';
import {
  dumpEvents,
  dumpRoutines,
  dumpSequences,
  mysqlObjects,
  nonTransactionalWarnings,
  withoutDefiner,
} from './mysql-objects.js';
import {
  emptyDumpResult,
  TableChangedError,
  type DumpedTable,
  type DumpRequest,
  type DumpResult,
  type SnapshotPosition,
  type SqlSink,
  type TableChecksum,
} from './types.js';

/*
 * MariaDB/MySQL writer. Rows come over the text protocol as the raw bytes the server sends
 * (mysql2 `typeCast: false`): numbers, DECIMALs, FLOAT/DOUBLE, dates and TIMESTAMPs are written
 * exactly as the server printed them, never through a JS number or Date; binary data goes as
 * 0x hex; text is escaped byte by byte (UTF-8 safe: only ASCII bytes are touched).
 */

const q = (name: string) => quoteIdentifier('mysql', name);
const str = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** How one column's value is written. */
const RAW = 0; // numbers: the server's text as is
const QUOTED = 1; // temporal values: quoted, nothing to escape
const TEXT = 2; // character data: quoted and escaped
const HEX = 3; // binary data, BIT, GEOMETRY: 0x… ('' when empty)

// mysql2 column types (protocol constants).
const RAW_TYPES = new Set([0, 1, 2, 3, 4, 5, 8, 9, 13, 246]);
const TEMPORAL_TYPES = new Set([7, 10, 11, 12, 14, 17, 18, 19]);
const JSON_TYPE = 245;
const HEX_TYPES = new Set([16, 255]);
const BINARY_CHARSET = 63;

interface ColumnDefinition {
  columnType: number;
  characterSet: number;
  name: string;
}

function kindOf(f: ColumnDefinition): number {
  if (RAW_TYPES.has(f.columnType)) return RAW;
  if (TEMPORAL_TYPES.has(f.columnType)) return QUOTED;
  if (HEX_TYPES.has(f.columnType)) return HEX;
  if (f.columnType === JSON_TYPE) return TEXT; // MySQL's JSON: utf8mb4 bytes, flagged binary
  return f.characterSet === BINARY_CHARSET ? HEX : TEXT;
}

const HEX_DIGITS = Buffer.from('0123456789abcdef');

export { Out };

interface TableInfo {
  name: string;
  /** Stored columns, in table order (generated columns left out: never inserted). */
  columns: string[];
  /** Primary key (or a NOT NULL unique key) columns: rows are read in this order. Empty: no key. */
  key: string[];
  estimate: number;
  /** System-versioned, read with its history (FOR SYSTEM_TIME ALL) and its period columns. */
  history: boolean;
}

/** The period columns of a system-versioned table: declared ones, else MariaDB's invisible ROW_START/ROW_END. */
interface VersioningInfo {
  start: string;
  end: string;
  /** Versioned by timestamps (history rows can be inserted back) rather than by transaction ids. */
  byTimestamp: boolean;
}

type PromiseConn = PromiseConnection;

async function rowsOf<T>(conn: PromiseConn, sql: string | mysql.QueryOptions, params: unknown[] = []): Promise<T[]> {
  const [rows] = typeof sql === 'string' ? await conn.query(sql, params) : await conn.query(sql, params);
  return rows as unknown as T[];
}

/**
 * `versioned`: the table is SYSTEM VERSIONED and the server can take its history back
 * (system_versioning_insert_history): its rows are read with their history and period columns.
 */
async function tableInfo(conn: PromiseConn, table: string, versioned = false): Promise<TableInfo> {
  const cols = await rowsOf<{
    name: string;
    extra: string | null;
    nullable: string;
    expr: string | null;
    type: string;
  }>(
    conn,
    'SELECT COLUMN_NAME AS name, EXTRA AS extra, IS_NULLABLE AS nullable, GENERATION_EXPRESSION AS expr, DATA_TYPE AS type FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
    [table],
  );
  if (!cols.length) throw new Error(`table ${table} has no columns (or does not exist)`);
  const period = (which: string) => cols.find((c) => c.expr === which && /GENERATED/i.test(c.extra ?? ''));
  const generated = (c: { extra: string | null; expr: string | null }) =>
    /\b(VIRTUAL|STORED|PERSISTENT) GENERATED\b/i.test(c.extra ?? '') &&
    !(versioned && /^ROW (START|END)$/.test(c.expr ?? ''));
  const notNull = new Set(cols.filter((c) => c.nullable === 'NO').map((c) => c.name));
  const stats = await rowsOf<{ idx: string; col: string; nonUnique: number | string }>(
    conn,
    "SELECT INDEX_NAME AS idx, COLUMN_NAME AS col, NON_UNIQUE AS nonUnique FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY INDEX_NAME = 'PRIMARY' DESC, INDEX_NAME, SEQ_IN_INDEX",
    [table],
  );
  const indexes = new Map<string, { cols: string[]; unique: boolean }>();
  for (const s of stats) {
    const entry = indexes.get(s.idx) ?? { cols: [], unique: Number(s.nonUnique) === 0 };
    entry.cols.push(s.col);
    indexes.set(s.idx, entry);
  }
  let key: string[] = [];
  for (const [, ix] of indexes) {
    if (ix.unique && ix.cols.every((c) => notNull.has(c))) {
      key = ix.cols;
      break;
    }
  }
  const est = await rowsOf<{ n: number | string | null }>(
    conn,
    'SELECT TABLE_ROWS AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
    [table],
  );
  const columns = cols.filter((c) => !generated(c)).map((c) => c.name);
  if (versioned) {
    const start = period('ROW START')?.name;
    const end = period('ROW END')?.name;
    if (!start || !end) columns.push('ROW_START', 'ROW_END'); // implicit: invisible, not in information_schema
    // The history holds several rows per key: the period's end orders them.
    if (key.length) key = [...key, end ?? 'ROW_END'];
  }
  return { name: table, columns, key, estimate: Number(est[0]?.n ?? 0), history: versioned };
}

/** How a system-versioned table is versioned; null when it is not. */
async function versioningOf(conn: PromiseConn, table: string): Promise<VersioningInfo | null> {
  const [row] = await rowsOf<string[]>(conn, { sql: `SHOW CREATE TABLE ${q(table)}`, rowsAsArray: true });
  const ddl = row?.[1] ?? '';
  if (!/\bWITH SYSTEM VERSIONING\b/i.test(ddl)) return null;
  const declared = /PERIOD FOR SYSTEM_TIME \(`((?:[^`]|``)+)`, `((?:[^`]|``)+)`\)/i.exec(ddl);
  const start = declared?.[1]?.replace(/``/g, '`') ?? 'ROW_START';
  const end = declared?.[2]?.replace(/``/g, '`') ?? 'ROW_END';
  const startColumn = declared
    ? new RegExp('`' + start.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '` (\\w+)', 'i').exec(ddl)?.[1]
    : 'timestamp';
  return { start, end, byTimestamp: /^timestamp$/i.test(startColumn ?? '') };
}

/** Whether the server lets a restore insert history rows (MariaDB 10.11+). */
async function canInsertHistory(conn: PromiseConn): Promise<boolean> {
  try {
    await conn.query('SELECT @@system_versioning_insert_history');
    return true;
  } catch {
    return false;
  }
}

function selectSql(t: TableInfo): string {
  return `SELECT ${t.columns.map(q).join(',')} FROM ${q(t.name)}${t.history ? ' FOR SYSTEM_TIME ALL' : ''}${t.key.length ? ` ORDER BY ${t.key.map(q).join(',')}` : ''}`;
}

interface RawPacket {
  buffer: Buffer;
  offset: number;
  end: number;
}

/**
 * Appends one text-protocol row, straight from the packet bytes, as a SQL tuple "(v1,v2,…)".
 * No per-value objects are made: this is the hot loop of the whole backup.
 */
function appendRow(out: Out, kinds: Uint8Array, packet: RawPacket, separate: boolean): void {
  const src = packet.buffer;
  let off = packet.offset;
  const end = packet.end;
  // Worst case: every byte escaped or hex (2×), plus quotes, commas, NULLs, 0x prefixes.
  out.ensure(2 * (end - off) + 8 * kinds.length + 8);
  const o = out.buf;
  let p = out.pos;
  if (separate) {
    o[p++] = 0x2c; // ",\n" between the rows of one statement
    o[p++] = 0x0a;
  }
  o[p++] = 0x28;
  for (let i = 0; i < kinds.length; i++) {
    if (i) o[p++] = 0x2c;
    const tag = src[off++] as number;
    let len: number;
    if (tag < 251) len = tag;
    else if (tag === 0xfb) {
      o[p++] = 0x4e; // NULL
      o[p++] = 0x55;
      o[p++] = 0x4c;
      o[p++] = 0x4c;
      continue;
    } else if (tag === 0xfc) {
      len = (src[off] as number) | ((src[off + 1] as number) << 8);
      off += 2;
    } else if (tag === 0xfd) {
      len = (src[off] as number) | ((src[off + 1] as number) << 8) | ((src[off + 2] as number) << 16);
      off += 3;
    } else {
      len = src.readUInt32LE(off) + src.readUInt32LE(off + 4) * 0x100000000;
      off += 8;
    }
    const stop = off + len;
    const kind = kinds[i];
    if (kind === RAW) {
      if (len < 48) for (let j = off; j < stop; j++) o[p++] = src[j] as number;
      else p += src.copy(o, p, off, stop);
    } else if (kind === TEXT) {
      o[p++] = 0x27;
      for (let j = off; j < stop; j++) {
        const c = src[j] as number;
        if (c > 0x27 && c !== 0x5c) o[p++] = c;
        else if (c === 0x27) {
          o[p++] = 0x5c;
          o[p++] = 0x27;
        } else if (c === 0x5c) {
          o[p++] = 0x5c;
          o[p++] = 0x5c;
        } else if (c === 0x00) {
          o[p++] = 0x5c;
          o[p++] = 0x30;
        } else if (c === 0x0a) {
          o[p++] = 0x5c;
          o[p++] = 0x6e;
        } else if (c === 0x0d) {
          o[p++] = 0x5c;
          o[p++] = 0x72;
        } else if (c === 0x1a) {
          o[p++] = 0x5c;
          o[p++] = 0x5a;
        } else o[p++] = c;
      }
      o[p++] = 0x27;
    } else if (kind === QUOTED) {
      o[p++] = 0x27;
      for (let j = off; j < stop; j++) o[p++] = src[j] as number;
      o[p++] = 0x27;
    } else if (len === 0) {
      o[p++] = 0x27; // empty binary: '' (0x with no digits is not a literal)
      o[p++] = 0x27;
    } else {
      o[p++] = 0x30;
      o[p++] = 0x78;
      if (len > 64) p += o.write(src.toString('hex', off, stop), p, 'latin1');
      else {
        for (let j = off; j < stop; j++) {
          const c = src[j] as number;
          o[p++] = HEX_DIGITS[c >> 4] as number;
          o[p++] = HEX_DIGITS[c & 15] as number;
        }
      }
    }
    off = stop;
  }
  o[p++] = 0x29;
  out.pos = p;
}

/**
 * Reads a result set row by row, each row's packet handed to `onRow` as raw bytes (mysql2's
 * own row parser is bypassed: it would make a Buffer or string per value). When `onRow`
 * returns a promise the connection stops reading from the socket until it settles.
 */
function streamRawRows(
  conn: CallbackConnection,
  sql: string,
  onFields: (fields: ColumnDefinition[]) => void,
  onRow: (packet: RawPacket) => Promise<void> | undefined,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let failed = false;
    let waiting: Promise<void> | undefined;
    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      reject(err);
    };
    const query = startStreamingQuery(conn, { sql, typeCast: false } as mysql.QueryOptions);
    let pending: Promise<void> | undefined;
    const parser = {
      next(packet: RawPacket): null {
        if (failed) return null;
        try {
          pending = onRow(packet);
        } catch (err) {
          fail(err);
          conn.destroy();
        }
        return null;
      },
    };
    // mysql2 assigns its generated parser after the column definitions; this one stays in place.
    Object.defineProperty(query, '_rowParser', { get: () => parser, set: () => undefined, configurable: true });
    query.on('fields', (fields: FieldPacket[]) => {
      try {
        onFields(fields as unknown as ColumnDefinition[]);
      } catch (err) {
        fail(err);
      }
    });
    query.on('result', () => {
      const p = pending;
      if (!p || failed) return;
      pending = undefined;
      conn.pause();
      waiting = p.then(
        () => {
          waiting = undefined;
          if (!failed) conn.resume();
        },
        (err) => {
          fail(err);
          conn.destroy();
        },
      );
    });
    query.on('error', fail);
    query.on('end', () => {
      if (failed) return;
      if (waiting) waiting.then(() => (failed ? undefined : resolve()), fail);
      else resolve();
    });
  });
}

/** Per-table checksum, fed with the exact literal bytes of every row. */
interface RowHasher {
  /** Rows in key order: a running hash over "row,\n" for each row. */
  addBody(body: Buffer): void;
  /** Rows in no defined order (keyless tables): an order-independent sum of row hashes. */
  addRow(row: Buffer): void;
  digest(): string;
}

const NO_HASH: RowHasher = { addBody: () => undefined, addRow: () => undefined, digest: () => '' };

function rowHasher(ordered: boolean, enabled = true): RowHasher {
  if (!enabled) return NO_HASH;
  if (ordered) {
    const h: Hash = createHash('sha1');
    return {
      addBody: (b) => h.update(b),
      addRow: () => undefined,
      digest: () => 'sha1:' + h.digest('hex'),
    };
  }
  let a = 0n;
  let b = 0n;
  const mask = (1n << 64n) - 1n;
  return {
    addBody: () => undefined,
    addRow: (row) => {
      const d = createHash('sha1').update(row).digest();
      a = (a + d.readBigUInt64BE(0)) & mask;
      b = (b + d.readBigUInt64BE(8)) & mask;
    },
    digest: () => `sum:${a.toString(16).padStart(16, '0')}${b.toString(16).padStart(16, '0')}`,
  };
}

const ROW_SEP = Buffer.from(',\n');
const STMT_END = Buffer.from(';\n');

interface ScanHooks {
  /** Called with each complete INSERT statement (head, rows, ";\n") once it reaches the size bound. */
  flush?: (statement: Buffer, rowsDone: number) => Promise<void> | undefined;
  /** Hash the rows (default true). */
  checksum?: boolean;
  /** A row longer than this (as SQL) is written as an INSERT plus UPDATE … CONCAT pieces (see mysql-large-row.ts). */
  rowLimit?: number;
  /** The server is MariaDB (the split may switch CHECK constraints off for its pieces). */
  mariadb?: boolean;
}

/**
 * Reads every row of a table in key order and formats it as multi-row INSERT statements of
 * bounded size, hashing the tuples as it goes; returns the row count and checksum.
 */
async function scanTable(
  conn: CallbackConnection,
  t: TableInfo,
  maxBytes: number,
  hooks: ScanHooks,
): Promise<{ rows: number; checksum: string }> {
  const head = Buffer.from(`INSERT INTO ${q(t.name)} (${t.columns.map(q).join(',')}) VALUES\n`);
  const out = new Out(maxBytes + 64 * 1024);
  out.bytes(head);
  const ordered = t.key.length > 0;
  const hasher = rowHasher(ordered, hooks.checksum ?? true);
  let kinds = new Uint8Array(0);
  let rows = 0;
  let inStatement = 0;
  const emit = (): Promise<void> | undefined => {
    if (ordered) {
      hasher.addBody(out.buf.subarray(head.length, out.pos));
      hasher.addBody(ROW_SEP);
    }
    out.bytes(STMT_END);
    const stmt = out.take();
    out.bytes(head);
    inStatement = 0;
    return hooks.flush?.(stmt, rows);
  };
  const rowLimit = (hooks.rowLimit ?? Number.MAX_SAFE_INTEGER) - head.length - STMT_END.length;
  // The row's full tuple is hashed either way, so a split row checksums as it restores.
  const largeRow = async (tuple: Buffer, statements: Buffer[]): Promise<void> => {
    if (inStatement) await emit();
    rows++;
    if (ordered) {
      hasher.addBody(tuple);
      hasher.addBody(ROW_SEP);
    } else hasher.addRow(tuple);
    for (const statement of statements) await hooks.flush?.(Buffer.concat([statement, STMT_END]), rows);
  };
  await streamRawRows(
    conn,
    selectSql(t),
    (fields) => {
      kinds = Uint8Array.from(fields.map(kindOf));
    },
    (packet) => {
      const before = out.pos;
      const start = before + (inStatement ? 2 : 0);
      appendRow(out, kinds, packet, inStatement > 0);
      if (out.pos - start > rowLimit) {
        const tuple = Buffer.from(out.buf.subarray(start, out.pos));
        out.pos = before;
        // Worked out now: the packet's bytes are only the row's until this call returns.
        const statements = hooks.flush
          ? splitRowStatements(
              appendRow,
              { ...t, mariadb: hooks.mariadb ?? false },
              kinds,
              packet,
              Math.floor(maxBytes / 2),
              rowLimit,
            )
          : [];
        return largeRow(tuple, statements);
      }
      rows++;
      inStatement++;
      if (!ordered) hasher.addRow(out.buf.subarray(start, out.pos));
      return out.pos >= maxBytes ? emit() : undefined;
    },
  );
  if (inStatement) await emit();
  return { rows, checksum: hasher.digest() };
}

interface SnapshotConnection {
  cb: CallbackConnection;
  p: PromiseConn;
  close(): Promise<void>;
}

/**
 * A dedicated connection holding one consistent, read-only snapshot, in UTC (TIMESTAMPs read
 * as stored, whatever the server's zone), with no SQL mode that would change SHOW CREATE output.
 */
async function openSnapshot(db: MysqlDb): Promise<SnapshotConnection> {
  const cb = mysql.createConnection({
    ...connectionConfig(db.target),
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: false,
    jsonStrings: true,
    multipleStatements: false,
  } as mysql.ConnectionOptions);
  // Lost between queries (while the file is being written), the error reaches the next query
  // as "closed state"; here it must only not crash the process.
  cb.on('error', () => undefined);
  const p = cb.promise();
  const close = async () => {
    await p.end().catch(() => cb.destroy());
  };
  try {
    await p.query(
      "SET SESSION time_zone = '+00:00', SESSION sql_mode = '', SESSION sql_quote_show_create = 1, SESSION net_write_timeout = 600, SESSION net_read_timeout = 600",
    );
    await p.query('SET NAMES utf8mb4');
    await p.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    await p.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
  } catch (err) {
    cb.destroy();
    throw err;
  }
  return { cb, p, close };
}

const HEADER_SETTINGS = [
  'SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT, @OLD_CHARACTER_SET_RESULTS=@@CHARACTER_SET_RESULTS, @OLD_COLLATION_CONNECTION=@@COLLATION_CONNECTION;',
  'SET NAMES utf8mb4;',
  "SET @OLD_TIME_ZONE=@@TIME_ZONE, TIME_ZONE='+00:00';",
  'SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0;',
  'SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0;',
  "SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO';",
  'SET @OLD_SQL_NOTES=@@SQL_NOTES, SQL_NOTES=0;',
];

const FOOTER_SETTINGS = [
  'SET TIME_ZONE=@OLD_TIME_ZONE;',
  'SET SQL_MODE=@OLD_SQL_MODE;',
  'SET FOREIGN_KEY_CHECKS=@OLD_FOREIGN_KEY_CHECKS;',
  'SET UNIQUE_CHECKS=@OLD_UNIQUE_CHECKS;',
  'SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT, CHARACTER_SET_RESULTS=@OLD_CHARACTER_SET_RESULTS, COLLATION_CONNECTION=@OLD_COLLATION_CONNECTION;',
  'SET SQL_NOTES=@OLD_SQL_NOTES;',
];

/**
 * Writes one consistent snapshot of the named tables (and, for full backups, the views and
 * the triggers on those tables) as MariaDB/MySQL SQL that `mysql DB < file` restores.
 */
export async function dumpMysql(db: MysqlDb, sink: SqlSink, req: DumpRequest): Promise<DumpResult> {
  const snap = await openSnapshot(db);
  const full = req.includeViewsAndTriggers;
  const result: DumpResult = emptyDumpResult('');
  try {
    const [packetRow] = await rowsOf<{ p: number | string }>(snap.p, 'SELECT @@max_allowed_packet AS p');
    const packet = Number(packetRow?.p ?? 16 * 1024 * 1024);
    // Statements stay well under the server's packet limit (text may grow when escaped).
    const maxBytes = Math.max(16 * 1024, Math.min(req.maxStatementBytes ?? 1024 * 1024, Math.floor(packet / 4)));
    // One statement must also pass the stock client, whose own limit is 16 MiB unless told otherwise.
    const rowLimit = Math.min(packet, STOCK_CLIENT_PACKET) - 1024;
    const [version] = await rowsOf<{ v: string }>(snap.p, 'SELECT VERSION() AS v');
    result.serverVersion = version?.v ?? '';
    result.snapshot = await snapshotPosition(snap.p);
    const objects = await mysqlObjects(snap.p);
    const typeOf = new Map(objects.map((o) => [o.name, o.type]));
    const history = await canInsertHistory(snap.p);
    await sink.write(
      req.headerLines.map((l) => `-- ${l}\n`).join('') +
        `-- Server: ${version?.v ?? 'unknown'}; one consistent snapshot (REPEATABLE READ, WITH CONSISTENT SNAPSHOT); TIMESTAMPs in UTC\n\n` +
        HEADER_SETTINGS.join('\n') +
        '\n',
    );
    if (full) {
      result.warnings.push(...nonTransactionalWarnings(objects, req.tables));
      result.sequences = objects.filter((o) => o.type === 'SEQUENCE').map((o) => o.name);
      await dumpSequences(snap.p, sink, result.sequences);
    }
    for (const table of req.tables) {
      throwIfAborted(req.signal);
      try {
        result.tables.push(
          await dumpTable(
            snap,
            sink,
            req,
            table,
            typeOf.get(table),
            history,
            { maxBytes, rowLimit, mariadb: /mariadb/i.test(version?.v ?? '') },
            result.warnings,
          ),
        );
      } catch (err) {
        const errno = (err as { errno?: number }).errno;
        // 1412: altered or truncated since the snapshot began; 1146: dropped since the table list was read.
        if (errno === 1412 || errno === 1146) throw new TableChangedError(table, err);
        throw err;
      }
    }
    if (full) {
      result.routines = await dumpRoutines(snap.p, sink);
      result.views = await dumpViews(snap.p, sink);
      result.triggers = await dumpTriggers(snap.p, sink, req.tables);
      result.events = await dumpEvents(snap.p, sink);
    }
    await sink.write('\n' + FOOTER_SETTINGS.join('\n') + `\n-- ${req.footerLine()}\n`);
    await snap.p.query('COMMIT');
    return result;
  } finally {
    await snap.close();
  }
}

/**
 * The binary log position of the snapshot, read inside its transaction: MariaDB's
 * binlog_snapshot_file/position are the point WITH CONSISTENT SNAPSHOT started at (SHOW MASTER
 * STATUS would be the current one, already past). Null when binary logging is off.
 */
async function snapshotPosition(conn: PromiseConn): Promise<SnapshotPosition | null> {
  const [logBin] = await rowsOf<{ on: number | string }>(conn, 'SELECT @@log_bin AS `on`');
  if (Number(logBin?.on ?? 0) !== 1) return null;
  const status = await rowsOf<{ Variable_name: string; Value: string }>(conn, "SHOW STATUS LIKE 'binlog_snapshot_%'");
  const value = (name: string) => status.find((s) => s.Variable_name.toLowerCase() === name)?.Value;
  const file = value('binlog_snapshot_file');
  const position = Number(value('binlog_snapshot_position'));
  if (!file || !Number.isFinite(position)) return null; // MySQL: no consistent-snapshot position to read
  const gtid = await rowsOf<{ g: string | null }>(conn, 'SELECT BINLOG_GTID_POS(?, ?) AS g', [file, position]).then(
    ([row]) => row?.g ?? null,
    () => null, // not MariaDB
  );
  return { binlogFile: file, binlogPosition: position, gtid };
}

/** The mariadb/mysql client's default max_allowed_packet. */
const STOCK_CLIENT_PACKET = 16 * 1024 * 1024;

/** One table: its definition, then its rows (with their history when it is system-versioned and the server allows it). */
async function dumpTable(
  snap: SnapshotConnection,
  sink: SqlSink,
  req: DumpRequest,
  table: string,
  type: string | undefined,
  historyAllowed: boolean,
  limits: { maxBytes: number; rowLimit: number; mariadb: boolean },
  warnings: string[],
): Promise<DumpedTable> {
  const versioning = type === 'SYSTEM VERSIONED' ? await versioningOf(snap.p, table) : null;
  const history = versioning !== null && historyAllowed && versioning.byTimestamp;
  if (versioning && !history)
    warnings.push(
      `table ${table} is system-versioned: only its current rows are backed up, not its history (${versioning.byTimestamp ? 'the server cannot insert history rows before MariaDB 10.11' : 'it is versioned by transaction ids'})`,
    );
  const info = await tableInfo(snap.p, table, history);
  const [create] = await rowsOf<string[]>(snap.p, { sql: `SHOW CREATE TABLE ${q(table)}`, rowsAsArray: true });
  const ddl = create?.[1];
  if (!ddl) throw new Error(`SHOW CREATE TABLE ${table} returned nothing`);
  await sink.write(
    `\n-- Table ${table}\nDROP TABLE IF EXISTS ${q(table)};\n${ddl};\n` +
      (history ? 'SET @@session.system_versioning_insert_history = 1;\n' : ''),
  );
  req.onProgress?.({ table, rowsDone: 0, rowsEstimate: info.estimate });
  const scanned = await scanTable(snap.cb, info, limits.maxBytes, {
    checksum: req.checksums ?? true,
    rowLimit: limits.rowLimit,
    mariadb: limits.mariadb,
    flush: (statement, rowsDone) => {
      throwIfAborted(req.signal);
      req.onProgress?.({ table, rowsDone, rowsEstimate: info.estimate });
      return sink.write(statement);
    },
  });
  if (history) await sink.write('SET @@session.system_versioning_insert_history = 0;\n');
  req.onProgress?.({ table, rowsDone: scanned.rows, rowsEstimate: info.estimate });
  return { name: table, rows: scanned.rows, checksum: scanned.checksum };
}

/**
 * Views after all tables. Each view first gets a stand-in with its column names, then the
 * real definitions replace them: a view on a view restores whatever the order.
 */
async function dumpViews(conn: PromiseConn, sink: SqlSink): Promise<string[]> {
  const views = (
    await rowsOf<{ name: string }>(
      conn,
      "SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'VIEW' ORDER BY TABLE_NAME",
    )
  ).map((v) => v.name);
  if (!views.length) return [];
  let text = '\n-- Views: stand-ins first (so views on views restore in any order), then the definitions\n';
  for (const v of views) {
    const cols = await rowsOf<{ name: string }>(
      conn,
      'SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
      [v],
    );
    text += `DROP TABLE IF EXISTS ${q(v)};\nDROP VIEW IF EXISTS ${q(v)};\nCREATE VIEW ${q(v)} AS SELECT ${cols.map((c) => `1 AS ${q(c.name)}`).join(', ') || '1 AS `1`'};\n`;
  }
  for (const v of views) {
    const [row] = await rowsOf<string[]>(conn, { sql: `SHOW CREATE VIEW ${q(v)}`, rowsAsArray: true });
    const ddl = row?.[1];
    const collation = row?.[3];
    if (!ddl) throw new Error(`SHOW CREATE VIEW ${v} returned nothing`);
    if (collation) text += `SET collation_connection = ${str(collation)};\n`;
    text += `${withoutDefiner(ddl).replace(/^CREATE\s+/i, 'CREATE OR REPLACE ')};\n`;
  }
  text += 'SET NAMES utf8mb4;\n';
  await sink.write(text);
  return views;
}

/** Triggers after the data (restoring the rows does not fire them), in their firing order, each with its own SQL mode. */
async function dumpTriggers(conn: PromiseConn, sink: SqlSink, tables: readonly string[]): Promise<string[]> {
  const wanted = new Set(tables);
  const triggers = (
    await rowsOf<{ name: string; tbl: string }>(
      conn,
      'SELECT TRIGGER_NAME AS name, EVENT_OBJECT_TABLE AS tbl FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() ORDER BY EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER',
    )
  ).filter((t) => wanted.has(t.tbl));
  if (!triggers.length) return [];
  let text = '\n-- Triggers (after the data, so restoring the rows does not fire them)\n';
  for (const t of triggers) {
    const [row] = await rowsOf<string[]>(conn, { sql: `SHOW CREATE TRIGGER ${q(t.name)}`, rowsAsArray: true });
    const sqlMode = row?.[1] ?? '';
    const ddl = row?.[2];
    const collation = row?.[4];
    if (!ddl) throw new Error(`SHOW CREATE TRIGGER ${t.name} returned nothing`);
    text += `DROP TRIGGER IF EXISTS ${q(t.name)};\nSET SESSION sql_mode = ${str(sqlMode)};\n`;
    if (collation) text += `SET collation_connection = ${str(collation)};\n`;
    text += `DELIMITER ;;\n${withoutDefiner(ddl)};;\nDELIMITER ;\n`;
  }
  text += "SET NAMES utf8mb4;\nSET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO';\n";
  await sink.write(text);
  return triggers.map((t) => t.name);
}

/** Row count and checksum of each table, computed exactly as the dump computes them (same literals, same order). */
export async function checksumMysqlTables(db: MysqlDb, tables: readonly string[]): Promise<TableChecksum[]> {
  const snap = await openSnapshot(db);
  try {
    const out: TableChecksum[] = [];
    const history = await canInsertHistory(snap.p);
    for (const table of tables) {
      const versioning = history ? await versioningOf(snap.p, table) : null;
      const info = await tableInfo(snap.p, table, versioning?.byTimestamp ?? false);
      const r = await scanTable(snap.cb, info, 1024 * 1024, {});
      out.push({ table, rows: r.rows, checksum: r.checksum });
    }
    await snap.p.query('COMMIT');
    return out;
  } finally {
    await snap.close();
  }
}

/** Runs `fn` against a new, empty database on the same server (same character set), dropped afterwards whatever happens. */
export async function withScratchMysqlDatabase<T>(db: MysqlDb, fn: (scratch: Db) => Promise<T>): Promise<T> {
  const name = `webjobs_verify_${process.pid}_${randomBytes(4).toString('hex')}`;
  const [schema] = await db.query<{ cs: string; coll: string }>(
    'SELECT DEFAULT_CHARACTER_SET_NAME AS cs, DEFAULT_COLLATION_NAME AS coll FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = DATABASE()',
  );
  try {
    const charset =
      schema && /^\w+$/.test(schema.cs) && /^\w+$/.test(schema.coll)
        ? ` CHARACTER SET ${schema.cs} COLLATE ${schema.coll}`
        : '';
    await db.execute(`CREATE DATABASE ${q(name)}${charset}`);
  } catch (err) {
    throw new Error(
      `--verify needs a scratch database and ${db.description} refused to create one (${(err as Error).message})`,
      { cause: err },
    );
  }
  let scratch: MysqlDb | undefined;
  try {
    scratch = await MysqlDb.open({ ...db.target, database: name }, `${db.description} (scratch ${name})`, {
      connectionLimit: 2,
    });
    return await fn(scratch);
  } finally {
    await scratch?.close();
    await db.execute(`DROP DATABASE IF EXISTS ${q(name)}`);
  }
}
