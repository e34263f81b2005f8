import type { Connection as PromiseConnection } from 'mysql2/promise';
import type mysql from 'mysql2';
import { quoteIdentifier } from '../identifiers.js';
import type { SqlSink } from './types.js';

/*
 * The schema objects of a full MariaDB/MySQL backup that are not tables, views or triggers:
 * sequences, stored routines and events. Each is written as its server prints it, with the
 * DEFINER taken out (the restoring user becomes the definer, so the file restores anywhere).
 */

const q = (name: string) => quoteIdentifier('mysql', name);
export const sqlString = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

async function rowsOf<T>(conn: PromiseConnection, sql: string | mysql.QueryOptions, params: unknown[] = []) {
  const [rows] = typeof sql === 'string' ? await conn.query(sql, params) : await conn.query(sql, params);
  return rows as unknown as T[];
}

/** SHOW CREATE … without the DEFINER clause. */
export function withoutDefiner(sql: string): string {
  return sql.replace(
    /\s+DEFINER\s*=\s*(`(?:[^`]|``)*`|'(?:[^'\\]|\\.)*'|[^\s@]+)@(`(?:[^`]|``)*`|'(?:[^'\\]|\\.)*'|[^\s]+)/i,
    '',
  );
}

/** How each object of the database is stored: what a full backup takes, and what backup.critical may name. */
export interface MysqlObject {
  name: string;
  /** information_schema.TABLES.TABLE_TYPE: BASE TABLE, SYSTEM VERSIONED, SEQUENCE, VIEW… */
  type: string;
  engine: string | null;
}

export async function mysqlObjects(conn: PromiseConnection): Promise<MysqlObject[]> {
  return rowsOf<MysqlObject>(
    conn,
    'SELECT TABLE_NAME AS name, TABLE_TYPE AS type, ENGINE AS engine FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME',
  );
}

/** Engines whose rows a consistent snapshot does not cover (no MVCC): their rows are as of the moment each is read. */
const NON_TRANSACTIONAL = new Set(['MYISAM', 'ARIA', 'MEMORY', 'MRG_MYISAM', 'CSV', 'ARCHIVE']);

export function nonTransactionalWarnings(objects: readonly MysqlObject[], tables: readonly string[]): string[] {
  const wanted = new Set(tables);
  return objects
    .filter((o) => wanted.has(o.name) && o.engine && NON_TRANSACTIONAL.has(o.engine.toUpperCase()))
    .map(
      (o) =>
        `table ${o.name} uses the ${o.engine} engine: its rows are not covered by the consistent snapshot (they may not match the other tables' moment)`,
    );
}

/**
 * Sequences, before the tables (a column's DEFAULT NEXT VALUE FOR s needs s). The current value
 * is the next one not cached: the restored sequence never hands out a value the original did.
 */
export async function dumpSequences(conn: PromiseConnection, sink: SqlSink, names: readonly string[]): Promise<void> {
  if (!names.length) return;
  let text = '\n-- Sequences (with their next value)\n';
  for (const name of names) {
    const [row] = await rowsOf<string[]>(conn, { sql: `SHOW CREATE SEQUENCE ${q(name)}`, rowsAsArray: true });
    const ddl = row?.[1];
    if (!ddl) throw new Error(`SHOW CREATE SEQUENCE ${name} returned nothing`);
    const [state] = await rowsOf<{ next: string; cycles: string }>(
      conn,
      `SELECT CAST(next_not_cached_value AS CHAR) AS next, CAST(cycle_count AS CHAR) AS cycles FROM ${q(name)}`,
    );
    if (!state) throw new Error(`sequence ${name} has no state row`);
    text += `DROP SEQUENCE IF EXISTS ${q(name)};\n${ddl};\n`;
    // SETVAL(s, n, 0, round): n is the next value handed out, not yet used.
    text += `DO SETVAL(${q(name)}, ${BigInt(state.next).toString()}, 0, ${BigInt(state.cycles).toString()});\n`;
  }
  await sink.write(text);
}

/** Stored procedures and functions, before the views (a view may call a function) and the triggers. */
export async function dumpRoutines(conn: PromiseConnection, sink: SqlSink): Promise<string[]> {
  const routines = await rowsOf<{ name: string; type: string }>(
    conn,
    "SELECT ROUTINE_NAME AS name, ROUTINE_TYPE AS type FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE() AND ROUTINE_TYPE IN ('FUNCTION', 'PROCEDURE') ORDER BY ROUTINE_TYPE, ROUTINE_NAME",
  );
  if (!routines.length) return [];
  let text = '\n-- Stored routines\n';
  for (const r of routines) {
    const [row] = await rowsOf<string[]>(conn, { sql: `SHOW CREATE ${r.type} ${q(r.name)}`, rowsAsArray: true });
    const sqlMode = row?.[1] ?? '';
    const ddl = row?.[2];
    // Without the privilege to read a routine's body the server returns NULL: never a silently missing routine.
    if (!ddl)
      throw new Error(`SHOW CREATE ${r.type} ${r.name} returned no body (the backup user needs SELECT on mysql.proc)`);
    text += `DROP ${r.type} IF EXISTS ${q(r.name)};\nSET SESSION sql_mode = ${sqlString(sqlMode)};\n`;
    if (row?.[3]) text += `SET character_set_client = ${sqlString(row[3])};\n`;
    if (row?.[4]) text += `SET collation_connection = ${sqlString(row[4])};\n`;
    text += `DELIMITER ;;\n${withoutDefiner(ddl)};;\nDELIMITER ;\n`;
  }
  text += "SET NAMES utf8mb4;\nSET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO';\n";
  await sink.write(text);
  return routines.map((r) => `${r.type.toLowerCase()} ${r.name}`);
}

/** Events last: each with the time zone its schedule was written in. */
export async function dumpEvents(conn: PromiseConnection, sink: SqlSink): Promise<string[]> {
  const events = await rowsOf<{ name: string }>(
    conn,
    'SELECT EVENT_NAME AS name FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE() ORDER BY EVENT_NAME',
  );
  if (!events.length) return [];
  let text = '\n-- Events\n';
  for (const e of events) {
    const [row] = await rowsOf<string[]>(conn, { sql: `SHOW CREATE EVENT ${q(e.name)}`, rowsAsArray: true });
    const sqlMode = row?.[1] ?? '';
    const zone = row?.[2] ?? 'SYSTEM';
    const ddl = row?.[3];
    if (!ddl) throw new Error(`SHOW CREATE EVENT ${e.name} returned nothing`);
    text += `DROP EVENT IF EXISTS ${q(e.name)};\nSET SESSION sql_mode = ${sqlString(sqlMode)};\nSET TIME_ZONE = ${sqlString(zone)};\n`;
    if (row?.[4]) text += `SET character_set_client = ${sqlString(row[4])};\n`;
    if (row?.[5]) text += `SET collation_connection = ${sqlString(row[5])};\n`;
    text += `DELIMITER ;;\n${withoutDefiner(ddl)};;\nDELIMITER ;\n`;
  }
  text += "SET NAMES utf8mb4;\nSET TIME_ZONE = '+00:00';\nSET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO';\n";
  await sink.write(text);
  return events.map((e) => e.name);
}
