/**
 * SQLite SQL literals that restore every value exactly: 64-bit integers from BigInt, reals in
 * their shortest round-trip form (always with a decimal point or exponent, so they stay REAL),
 * text as a quoted string when its bytes are valid UTF-8 without NUL or CR (else as CAST(X'..' AS
 * TEXT), byte for byte), blobs as X'..'.
 */
export function sqliteLiteral(value: unknown, storageClass: string): string {
  if (value === null || value === undefined || storageClass === 'null') return 'NULL';
  switch (storageClass) {
    case 'integer':
      return typeof value === 'bigint' ? value.toString() : String(value);
    case 'real': {
      const n = Number(value);
      if (Number.isNaN(n)) return 'NULL';
      if (n === Infinity) return '9e999';
      if (n === -Infinity) return '-9e999';
      if (Object.is(n, -0)) return '-0.0';
      const s = String(n);
      return /[.eE]/.test(s) ? s : `${s}.0`;
    }
    case 'text': {
      const bytes = value as Buffer;
      const text = bytes.toString('utf8');
      // The sqlite3 shell drops a CR before a newline while reading input, so CR goes as hex too.
      if (!text.includes('\u0000') && !text.includes('\r') && Buffer.from(text, 'utf8').equals(bytes)) return `'${text.replace(/'/g, "''")}'`;
      return `CAST(X'${bytes.toString('hex')}' AS TEXT)`;
    }
    case 'blob':
      return `X'${(value as Buffer).toString('hex')}'`;
    default:
      throw new Error(`unexpected SQLite storage class ${storageClass}`);
  }
}
