import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { quoteIdentifier } from './identifiers.js';
import type { Db, ExecResult, Row, TransactionOptions } from './types.js';

interface SqliteOptions {
  busyTimeoutMs?: number;
  readonly?: boolean;
  /** Create the file's folder when missing (the default database lives in ./var). */
  createDir?: boolean;
}

function bindable(params: readonly unknown[]): unknown[] {
  return params.map((p) => {
    if (p === undefined) return null;
    if (typeof p === 'boolean') return p ? 1 : 0;
    return p;
  });
}

/**
 * better-sqlite3 behind the async Db interface. The app's own readers and writers keep
 * working beside a job thanks to WAL and a busy timeout.
 */
export class SqliteDb implements Db {
  readonly dialect = 'sqlite' as const;
  readonly description: string;
  private depth = 0;

  constructor(
    readonly file: string,
    readonly raw: Database.Database,
  ) {
    this.description = `sqlite:${file}`;
  }

  static open(file: string, options: SqliteOptions = {}): SqliteDb {
    if (options.createDir) fs.mkdirSync(path.dirname(file), { recursive: true });
    const raw = new Database(file, {
      readonly: options.readonly ?? false,
      fileMustExist: options.readonly ?? false,
      timeout: options.busyTimeoutMs ?? 5000,
    });
    if (!options.readonly) raw.pragma('journal_mode = WAL');
    return new SqliteDb(file, raw);
  }

  async query<T = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    const stmt = this.raw.prepare(sql);
    if (!stmt.reader) {
      stmt.run(...bindable(params));
      return [];
    }
    return stmt.all(...bindable(params)) as T[];
  }

  async queryOne<T = Row>(sql: string, params: readonly unknown[] = []): Promise<T | undefined> {
    return this.raw.prepare(sql).get(...bindable(params)) as T | undefined;
  }

  async execute(sql: string, params: readonly unknown[] = []): Promise<ExecResult> {
    const stmt = this.raw.prepare(sql);
    if (stmt.reader) {
      stmt.all(...bindable(params));
      return { affectedRows: 0 };
    }
    const info = stmt.run(...bindable(params));
    return { affectedRows: info.changes, lastInsertId: info.lastInsertRowid };
  }

  async *stream<T = Row>(sql: string, params: readonly unknown[] = []): AsyncIterable<T> {
    for (const row of this.raw.prepare(sql).iterate(...bindable(params))) {
      yield row as T;
    }
  }

  async transaction<T>(fn: (tx: Db) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const savepoint = `webjobs_sp_${this.depth}`;
    if (this.depth === 0) this.raw.exec(options.immediate ? 'BEGIN IMMEDIATE' : 'BEGIN');
    else this.raw.exec(`SAVEPOINT ${savepoint}`);
    this.depth++;
    try {
      const result = await fn(this);
      this.depth--;
      if (this.depth === 0) this.raw.exec('COMMIT');
      else this.raw.exec(`RELEASE ${savepoint}`);
      return result;
    } catch (err) {
      this.depth--;
      if (this.depth === 0) {
        if (this.raw.inTransaction) this.raw.exec('ROLLBACK');
      } else {
        this.raw.exec(`ROLLBACK TO ${savepoint}`);
        this.raw.exec(`RELEASE ${savepoint}`);
      }
      throw err;
    }
  }

  quote(name: string): string {
    return quoteIdentifier('sqlite', name);
  }

  async tableExists(name: string): Promise<boolean> {
    const row = this.raw
      .prepare("SELECT 1 AS found FROM sqlite_master WHERE type IN ('table','view') AND name = ?")
      .get(name);
    return row !== undefined;
  }

  async columnsOf(table: string): Promise<string[]> {
    const rows = this.raw.prepare(`SELECT name FROM pragma_table_xinfo(?) WHERE hidden IN (0, 2, 3)`).all(table) as {
      name: string;
    }[];
    return rows.map((r) => r.name);
  }

  async listTables(): Promise<string[]> {
    const rows = this.raw
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
      )
      .all() as { name: string }[];
    return rows.map((r) => r.name);
  }

  async close(): Promise<void> {
    if (this.raw.open) this.raw.close();
  }
}
