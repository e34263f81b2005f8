import { quoteIdentifier } from '../identifiers.js';
import { Out } from './out.js';

/*
 * A row whose INSERT would not fit in one packet of the stock client (16 MiB by default) or of
 * the server: it is written as an INSERT holding the first piece of each long value, then one
 * UPDATE … SET c = CONCAT(c, piece) per further piece, addressed by the table's key. Without a
 * key there is no way to address the row, and the backup fails naming the table.
 */

const q = (name: string) => quoteIdentifier('mysql', name);

/** Value kinds as the MySQL writer defines them (mysql.ts): only TEXT and HEX values can be long. */
export const KIND_TEXT = 2;
export const KIND_HEX = 3;

export interface RawPacket {
  buffer: Buffer;
  offset: number;
  end: number;
}

export type AppendRow = (out: Out, kinds: Uint8Array, packet: RawPacket, separate: boolean) => void;

/** The raw bytes of each value of a text-protocol row (null for SQL NULL). */
export function rowValues(packet: RawPacket, columns: number): (Buffer | null)[] {
  const src = packet.buffer;
  let off = packet.offset;
  const values: (Buffer | null)[] = [];
  for (let i = 0; i < columns; i++) {
    const tag = src[off++] as number;
    let len: number;
    if (tag < 251) len = tag;
    else if (tag === 0xfb) {
      values.push(null);
      continue;
    } else if (tag === 0xfc) {
      len = src.readUInt16LE(off);
      off += 2;
    } else if (tag === 0xfd) {
      len = src.readUIntLE(off, 3);
      off += 3;
    } else {
      len = src.readUInt32LE(off) + src.readUInt32LE(off + 4) * 0x100000000;
      off += 8;
    }
    values.push(src.subarray(off, off + len));
    off += len;
  }
  return values;
}

/** One value as a SQL literal, formatted by the same code as every other row (a one-column packet). */
function literal(appendRow: AppendRow, kind: number, value: Buffer | null): Buffer {
  let prefix: Buffer;
  if (value === null) prefix = Buffer.from([0xfb]);
  else if (value.length < 251) prefix = Buffer.from([value.length]);
  else if (value.length < 0x10000) prefix = Buffer.from([0xfc, value.length & 0xff, value.length >> 8]);
  else if (value.length < 0x1000000) {
    prefix = Buffer.alloc(4);
    prefix[0] = 0xfd;
    prefix.writeUIntLE(value.length, 1, 3);
  } else {
    prefix = Buffer.alloc(9);
    prefix[0] = 0xfe;
    prefix.writeUInt32LE(value.length % 0x100000000, 1);
    prefix.writeUInt32LE(Math.floor(value.length / 0x100000000), 5);
  }
  const packet = Buffer.concat([prefix, value ?? Buffer.alloc(0)]);
  const out = new Out(2 * packet.length + 16);
  appendRow(out, Uint8Array.of(kind), { buffer: packet, offset: 0, end: packet.length }, false);
  return Buffer.from(out.buf.subarray(1, out.pos - 1)); // without the tuple's parentheses
}

/** Pieces of at most `size` bytes; text is cut only between UTF-8 characters. */
function pieces(value: Buffer, size: number, text: boolean): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  while (start < value.length) {
    let end = Math.min(value.length, start + size);
    if (text) while (end < value.length && end > start + 1 && ((value[end] as number) & 0xc0) === 0x80) end--;
    out.push(value.subarray(start, end));
    start = end;
  }
  return out;
}

export interface LargeRowTable {
  name: string;
  columns: string[];
  key: string[];
  /** System-versioned with history: an UPDATE would add history rows, so large rows cannot be split. */
  history: boolean;
  /** The server is MariaDB (check_constraint_checks exists there only). */
  mariadb: boolean;
}

/**
 * The statements that restore one oversized row, each at most about 2 × pieceBytes plus the
 * key and the other columns. Names are UTF-8; values are the row's raw bytes, as in the rest of the dump.
 */
export function splitRowStatements(
  appendRow: AppendRow,
  t: LargeRowTable,
  kinds: Uint8Array,
  packet: RawPacket,
  pieceBytes: number,
  statementLimit: number,
): Buffer[] {
  const values = rowValues(packet, kinds.length);
  const keyIndexes = t.key.map((k) => t.columns.indexOf(k));
  const keyed = keyIndexes.length > 0 && !keyIndexes.includes(-1);
  const where = keyed
    ? join(
        keyIndexes.map((i) =>
          sql(`${q(t.columns[i] as string)} = `, literal(appendRow, kinds[i] as number, values[i] ?? null)),
        ),
        ' AND ',
      )
    : Buffer.alloc(0);
  const cannot = (why: string) =>
    new Error(
      `table ${t.name}: ${keyed ? `the row with ${where.toString('utf8')}` : 'a row'} is too large for one INSERT (over ${statementLimit} bytes, the restore's max_allowed_packet) and ${why}`,
    );
  if (!keyed) throw cannot('the table has no key to split it by');
  if (t.history) throw cannot('the table is system-versioned with history (an UPDATE would add history rows)');
  if (where.length > pieceBytes) throw cannot('its key is too long to address it piece by piece');
  const first: Buffer[] = [];
  const updates: Buffer[] = [];
  values.forEach((v, i) => {
    const kind = kinds[i] as number;
    const long = v !== null && v.length > pieceBytes && (kind === KIND_TEXT || kind === KIND_HEX);
    if (!long) {
      first.push(literal(appendRow, kind, v));
      return;
    }
    const parts = pieces(v, pieceBytes, kind === KIND_TEXT);
    first.push(literal(appendRow, kind, parts[0] as Buffer));
    const col = q(t.columns[i] as string);
    for (const part of parts.slice(1))
      updates.push(
        sql(`UPDATE ${q(t.name)} SET ${col} = CONCAT(${col}, `, literal(appendRow, kind, part), ') WHERE ', where),
      );
  });
  const insert = sql(`INSERT INTO ${q(t.name)} (${t.columns.map(q).join(',')}) VALUES\n(`, join(first, ','), ')');
  if (insert.length > statementLimit) throw cannot('too many of its columns are long');
  if (!t.mariadb) return [insert, ...updates];
  // MariaDB's JSON is text with a CHECK (json_valid) that would refuse the partial values between the pieces.
  return [
    sql('SET SESSION check_constraint_checks = 0'),
    insert,
    ...updates,
    sql('SET SESSION check_constraint_checks = 1'),
  ];
}

/** SQL from parts: strings (names, keywords) as UTF-8, buffers (values) as they are. */
function sql(...parts: (string | Buffer)[]): Buffer {
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));
}

function join(parts: Buffer[], separator: string): Buffer {
  const sep = Buffer.from(separator);
  return Buffer.concat(parts.flatMap((p, i) => (i ? [sep, p] : [p])));
}
