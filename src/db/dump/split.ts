import type { Dialect } from '../types.js';

/**
 * Splits a stream of SQL text into statements, the way each engine's own client does:
 * quotes, comments, MySQL's backslash escapes and `DELIMITER` lines, and SQLite's
 * CREATE TRIGGER … END bodies. Holds at most one statement in memory.
 */
export class StatementSplitter {
  private buf = '';
  private pos = 0;
  private start = 0;
  private quote: string | null = null;
  private lineComment = false;
  private blockComment = false;
  private delimiter = ';';
  private atLineStart = true;

  constructor(private readonly dialect: Dialect) {}

  /** Feeds text; returns the statements completed by it. */
  push(text: string): string[] {
    this.buf += text;
    const out: string[] = [];
    const b = this.buf;
    const mysql = this.dialect === 'mysql';
    while (this.pos < b.length) {
      const ch = b[this.pos] as string;
      if (this.lineComment) {
        if (ch === '\n') {
          this.lineComment = false;
          this.atLineStart = true;
        }
        this.pos++;
        continue;
      }
      if (this.blockComment) {
        if (ch === '*' && b[this.pos + 1] === '/') {
          this.blockComment = false;
          this.pos += 2;
        } else if (ch === '*' && this.pos + 1 >= b.length) {
          break; // need the next chunk to know
        } else this.pos++;
        continue;
      }
      if (this.quote) {
        if (mysql && ch === '\\' && this.quote !== '`') {
          if (this.pos + 1 >= b.length) break;
          this.pos += 2;
          continue;
        }
        if (ch === this.quote || (this.quote === ']' && ch === ']')) {
          if (this.quote !== ']' && b[this.pos + 1] === this.quote) {
            this.pos += 2;
            continue;
          }
          if (this.quote !== ']' && this.pos + 1 >= b.length) break; // could be a doubled quote
          this.quote = null;
        }
        this.pos++;
        continue;
      }
      if (mysql && this.atLineStart && (ch === 'D' || ch === 'd')) {
        const nl = b.indexOf('\n', this.pos);
        if (nl < 0) break;
        const line = b.slice(this.pos, nl);
        const m = /^DELIMITER\s+(\S+)\s*$/i.exec(line);
        if (m && b.slice(this.start, this.pos).trim() === '') {
          this.delimiter = m[1] as string;
          this.pos = nl + 1;
          this.start = this.pos;
          continue;
        }
      }
      this.atLineStart = ch === '\n';
      if (ch === '-' && b[this.pos + 1] === '-') {
        if (this.pos + 2 >= b.length) break;
        const next = b[this.pos + 2] as string;
        if (!mysql || next === ' ' || next === '\t' || next === '\n' || next === '\r') {
          this.lineComment = true;
          this.pos += 2;
          continue;
        }
      }
      if (mysql && ch === '#') {
        this.lineComment = true;
        this.pos++;
        continue;
      }
      if (ch === '/' && b[this.pos + 1] === '*') {
        // MySQL's executable comments /*!40101 … */ are statements the client sends: keep them as text.
        if (mysql && b[this.pos + 2] === '!') {
          this.pos += 3;
          continue;
        }
        this.blockComment = true;
        this.pos += 2;
        continue;
      }
      if (ch === "'" || ch === '"' || ch === '`') {
        this.quote = ch;
        this.pos++;
        continue;
      }
      if (ch === '[' && !mysql) {
        this.quote = ']';
        this.pos++;
        continue;
      }
      if (b.startsWith(this.delimiter, this.pos)) {
        if (this.pos + this.delimiter.length > b.length) break;
        const stmt = b.slice(this.start, this.pos);
        if (!mysql && this.insideTrigger(stmt)) {
          this.pos++;
          continue;
        }
        const trimmed = stripComments(stmt).trim();
        if (trimmed) out.push(stmt.trim());
        this.pos += this.delimiter.length;
        this.start = this.pos;
        continue;
      }
      this.pos++;
    }
    // Drop consumed text so memory stays bounded by one statement.
    if (this.start > 0) {
      this.buf = this.buf.slice(this.start);
      this.pos -= this.start;
      this.start = 0;
    }
    return out;
  }

  /** Whatever is left once the input ends: a non-empty remainder is an incomplete statement. */
  end(): string {
    const rest = stripComments(this.buf.slice(this.start)).trim();
    this.buf = '';
    this.pos = this.start = 0;
    return rest;
  }

  private insideTrigger(stmt: string): boolean {
    const s = stripComments(stmt).trim();
    if (!/^CREATE\s+(TEMP\s+|TEMPORARY\s+)?TRIGGER\b/i.test(s)) return false;
    return !/\bEND$/i.test(s);
  }
}

function stripComments(sql: string): string {
  if (!sql.includes('--') && !sql.includes('/*')) return sql;
  return sql.replace(/^\s*--[^\n]*\n?/gm, '').replace(/^\s*\/\*(?!!)[\s\S]*?\*\/\s*/g, '');
}
