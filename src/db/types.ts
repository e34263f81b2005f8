export type Dialect = 'sqlite' | 'mysql';

export type Row = Record<string, unknown>;

export interface ExecResult {
  affectedRows: number;
  lastInsertId?: number | bigint;
}

export interface TransactionOptions {
  /** SQLite: BEGIN IMMEDIATE, taking the write lock up front so a compare-and-set cannot race. */
  immediate?: boolean;
}

/**
 * The one small interface job code talks to. Values are always bound parameters (`?`);
 * names go through `quote` (for names read from the catalog) or `checkIdentifier` first
 * (for names from config).
 */
export interface Db {
  readonly dialect: Dialect;
  /** Where it points, password masked: safe for logs. */
  readonly description: string;
  query<T = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  queryOne<T = Row>(sql: string, params?: readonly unknown[]): Promise<T | undefined>;
  execute(sql: string, params?: readonly unknown[]): Promise<ExecResult>;
  /** Rows one at a time without holding the result set in memory. */
  stream<T = Row>(sql: string, params?: readonly unknown[]): AsyncIterable<T>;
  /** Runs `fn` inside one transaction on one connection; rolls back when it throws. */
  transaction<T>(fn: (tx: Db) => Promise<T>, options?: TransactionOptions): Promise<T>;
  quote(name: string): string;
  tableExists(name: string): Promise<boolean>;
  columnsOf(table: string): Promise<string[]>;
  listTables(): Promise<string[]>;
  close(): Promise<void>;
}
