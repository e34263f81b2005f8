import mysql from 'mysql2';
import mysqlPromise from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MysqlDb } from '../../src/db/mysql.js';
import { connectionConfig, startStreamingQuery } from '../../src/db/mysql.js';
import { mariadbDatabase, type TestDatabase } from '../support/databases.js';

// MariaDB's sequence engine: a result far larger than one socket read, with no table to fill.
const LONG_RESULT = 'SELECT seq FROM seq_1_to_2000000';

/** Resolves with the query's first error; rejects if none comes within the time (the reader would hang). */
function firstError(query: mysql.Query, ms = 10_000): Promise<Error & { code?: string }> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('the query never reported the lost connection')), ms);
    query.once('error', (err) => {
      clearTimeout(t);
      resolve(err);
    });
  });
}

describe('a MariaDB connection lost in the middle of a streamed result', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await mariadbDatabase();
  }, 60_000);
  afterAll(async () => {
    await t?.cleanup();
  });

  it('is reported to the query, not thrown at a connection nobody listens to', async () => {
    const conn = mysql.createConnection(connectionConfig((t.db as MysqlDb).target));
    const query = startStreamingQuery(conn, { sql: LONG_RESULT });
    // The network goes away after the first row: what a server shutdown or a dropped link does.
    query.once('result', () => (conn as unknown as { stream: { destroy(): void } }).stream.destroy());
    const err = await firstError(query);
    expect(err.code).toBe('PROTOCOL_CONNECTION_LOST');
    // A later query on the dead connection fails on itself too.
    const after = await firstError(startStreamingQuery(conn, { sql: 'SELECT 1' }));
    expect(after.message).toMatch(/closed state/);
    expect(conn.listenerCount('error')).toBe(0);
  });

  it('ends Db.stream with the error when the server kills the connection, instead of waiting forever', async () => {
    const db = t.db as MysqlDb;
    const admin = await mysqlPromise.createConnection(connectionConfig(db.target));
    try {
      let rows = 0;
      const read = (async () => {
        for await (const _row of db.stream(LONG_RESULT)) {
          rows++;
          if (rows === 1) {
            const [found] = await admin.query<mysqlPromise.RowDataPacket[]>(
              "SELECT id FROM information_schema.processlist WHERE info LIKE 'SELECT seq FROM seq_1_to_2000000%'",
            );
            expect(found).toHaveLength(1);
            await admin.query(`KILL CONNECTION ${Number(found[0]?.id)}`);
          }
        }
      })();
      const outcome = await Promise.race([
        read.then(
          () => 'finished',
          (e: Error) => e,
        ),
        new Promise((r) => setTimeout(() => r('hung'), 15_000)),
      ]);
      expect(outcome).toBeInstanceOf(Error);
      expect(rows).toBeLessThan(2_000_000);
      // The pool still serves queries afterwards.
      expect(await db.queryOne<{ one: number }>('SELECT 1 AS one')).toEqual({ one: 1 });
    } finally {
      await admin.end();
    }
  }, 30_000);
});
