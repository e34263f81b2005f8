import mysql from 'mysql2/promise';
import type { Pool, PoolConnection, RowDataPacket, ResultSetHeader } from 'mysql2/promise';
import type { Connection as CallbackConnection, Query, QueryOptions } from 'mysql2';
import { quoteIdentifier } from './identifiers.js';
import type { Db, ExecResult, Row } from './types.js';
import type { DatabaseTarget } from './url.js';

type MysqlTarget = Extract<DatabaseTarget, { kind: 'mysql' }>;

interface MysqlOptions {
  connectTimeoutMs?: number;
  connectionLimit?: number;
}

/** Connection settings shared by the pool and by the dedicated connections of dump/restore. */
export function connectionConfig(target: MysqlTarget, options: MysqlOptions = {}): mysql.ConnectionOptions {
  return {
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    database: target.database,
    ...(target.socketPath ? { socketPath: target.socketPath } : {}),
    charset: 'utf8mb4',
    connectTimeout: options.connectTimeoutMs ?? 10_000,
    // Date-times stay the strings the app wrote: no time zone conversion on the way through.
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: false,
    decimalNumbers: true,
  };
}

type Queryable = Pool | PoolConnection;

/** Session settings for `withSession`: READ COMMITTED (no gap locks, non-matching rows unlocked at once), and their undoing. */
export const READ_COMMITTED: SessionSettings = {
  set: ['SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED'],
  reset: ['SET SESSION tx_isolation = @@GLOBAL.tx_isolation'],
};

/**
 * Whether DELETEs may run READ COMMITTED: not where the server writes a statement-format
 * binary log (InnoDB then refuses them: "impossible to write to binary log", error 1665).
 */
export async function readCommittedAllowed(db: MysqlDb): Promise<boolean> {
  const row = await db.queryOne<{ logBin: number | string; format: string | null }>(
    'SELECT @@log_bin AS logBin, @@binlog_format AS format',
  );
  return !(Number(row?.logBin) === 1 && String(row?.format ?? '').toUpperCase() === 'STATEMENT');
}

interface SessionSettings {
  set: readonly string[];
  /** Statements that restore the pool's defaults before the connection goes back. */
  reset: readonly string[];
}

/** The callback-style connection under a promise one (mysql2's types call it a promise Connection; it is not). */
function callbackConnection(conn: PoolConnection): CallbackConnection {
  return conn.connection as unknown as CallbackConnection;
}

/**
 * Starts a query read through events (a row stream) rather than a callback. mysql2 reports a
 * connection lost mid-result to the connection alone, never to such a query: its reader would
 * wait forever, and a connection with no 'error' listener crashes the process. For as long as
 * the query runs, connection errors are handed to the query, where its reader listens.
 */
export function startStreamingQuery(
  conn: CallbackConnection,
  options: QueryOptions,
  params?: readonly unknown[],
): Query {
  const started: { query?: Query } = {};
  let lostBeforeStart: Error | undefined;
  const forward = (err: Error) => {
    if (started.query) started.query.emit('error', err);
    else lostBeforeStart = err;
  };
  conn.on('error', forward);
  // A connection already closed rejects the query synchronously, through the connection.
  const query = params === undefined ? conn.query(options) : conn.query(options, params as unknown[]);
  started.query = query;
  const detach = () => conn.off('error', forward);
  query.once('end', detach);
  query.once('error', detach);
  if (lostBeforeStart) {
    const err = lostBeforeStart;
    process.nextTick(() => query.emit('error', err));
  }
  return query;
}

async function runQuery<T>(on: Queryable, sql: string, params: readonly unknown[]): Promise<T[]> {
  const [rows] = await on.query(sql, params as unknown[]);
  return Array.isArray(rows) ? (rows as unknown as T[]) : [];
}

async function runExecute(on: Queryable, sql: string, params: readonly unknown[]): Promise<ExecResult> {
  const [res] = await on.query(sql, params as unknown[]);
  const header = res as ResultSetHeader;
  return { affectedRows: header.affectedRows ?? 0, lastInsertId: header.insertId };
}

/** mysql2 behind the async Db interface: a small pool, one dedicated connection per transaction. */
export class MysqlDb implements Db {
  readonly dialect = 'mysql' as const;

  constructor(
    readonly target: MysqlTarget,
    readonly pool: Pool,
    readonly description: string,
    private readonly conn?: PoolConnection,
  ) {}

  static async open(target: MysqlTarget, description: string, options: MysqlOptions = {}): Promise<MysqlDb> {
    const pool = mysql.createPool({
      ...connectionConfig(target, options),
      connectionLimit: options.connectionLimit ?? 4,
      waitForConnections: true,
    });
    const db = new MysqlDb(target, pool, description);
    try {
      await pool.query('SELECT 1');
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw err;
    }
    return db;
  }

  /** Bound to one connection inside `transaction()` (or `withSession`). */
  get inTransaction(): boolean {
    return this.conn !== undefined;
  }

  private get on(): Queryable {
    return this.conn ?? this.pool;
  }

  query<T = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return runQuery<T>(this.on, sql, params);
  }

  async queryOne<T = Row>(sql: string, params: readonly unknown[] = []): Promise<T | undefined> {
    const rows = await runQuery<T>(this.on, sql, params);
    return rows[0];
  }

  execute(sql: string, params: readonly unknown[] = []): Promise<ExecResult> {
    return runExecute(this.on, sql, params);
  }

  async *stream<T = Row>(sql: string, params: readonly unknown[] = []): AsyncIterable<T> {
    const conn = this.conn ?? (await this.pool.getConnection());
    try {
      // The callback connection's row stream applies back-pressure: rows are read as consumed.
      const rows = startStreamingQuery(callbackConnection(conn), { sql }, params).stream({ highWaterMark: 256 });
      for await (const row of rows) yield row as T;
    } finally {
      if (!this.conn) conn.release();
    }
  }

  async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    if (this.conn) {
      // Already inside one: nest with a savepoint on the same connection.
      const sp = `webjobs_sp_${Date.now().toString(36)}`;
      await this.conn.query(`SAVEPOINT ${sp}`);
      try {
        const r = await fn(this);
        await this.conn.query(`RELEASE SAVEPOINT ${sp}`);
        return r;
      } catch (err) {
        await this.conn.query(`ROLLBACK TO SAVEPOINT ${sp}`).catch(() => undefined);
        throw err;
      }
    }
    const conn = await this.pool.getConnection();
    try {
      await conn.beginTransaction();
      const tx = new MysqlDb(this.target, this.pool, this.description, conn);
      const result = await fn(tx);
      await conn.commit();
      return result;
    } catch (err) {
      await conn.rollback().catch(() => undefined);
      throw err;
    } finally {
      conn.release();
    }
  }

  /** One connection for a sequence of statements that share session state (restore, snapshot dumps). */
  async withConnection<T>(fn: (conn: PoolConnection) => Promise<T>): Promise<T> {
    const conn = this.conn ?? (await this.pool.getConnection());
    try {
      return await fn(conn);
    } finally {
      if (!this.conn) conn.release();
    }
  }

  /**
   * Runs `fn` on one dedicated connection with session settings applied, undone before the
   * connection goes back to the pool (a connection that fails to reset is closed instead).
   * Inside a transaction the settings cannot change mid-way: `fn` runs on it as it is.
   */
  async withSession<T>(settings: SessionSettings, fn: (db: MysqlDb) => Promise<T>): Promise<T> {
    if (this.conn) return fn(this);
    const conn = await this.pool.getConnection();
    let clean = false;
    try {
      for (const sql of settings.set) await conn.query(sql);
      const result = await fn(new MysqlDb(this.target, this.pool, this.description, conn));
      for (const sql of settings.reset) await conn.query(sql);
      clean = true;
      return result;
    } finally {
      if (clean) conn.release();
      else conn.destroy();
    }
  }

  quote(name: string): string {
    return quoteIdentifier('mysql', name);
  }

  async tableExists(name: string): Promise<boolean> {
    const rows = await this.query<RowDataPacket>(
      'SELECT 1 AS found FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?',
      [name],
    );
    return rows.length > 0;
  }

  async columnsOf(table: string): Promise<string[]> {
    const rows = await this.query<{ name: string }>(
      'SELECT column_name AS name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position',
      [table],
    );
    return rows.map((r) => r.name);
  }

  async listTables(): Promise<string[]> {
    const rows = await this.query<{ name: string }>(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY table_name",
    );
    return rows.map((r) => r.name);
  }

  async close(): Promise<void> {
    if (this.conn) return;
    await this.pool.end().catch(() => undefined);
  }
}
