import type { Dialect } from './types.js';

/**
 * JSON inside SQL, written with each engine's own functions (MariaDB's JSON_EXTRACT family,
 * SQLite's json1), so aggregates over JSON documents run inside the database instead of
 * pulling rows into memory. Column expressions passed in must already be quoted.
 */

type JsonNumberKind = 'integer' | 'decimal';

/** A JSON path like `$.total_users`: only plain member names, so it can be inlined safely. */
const JSON_PATH = /^\$(\.[A-Za-z_][A-Za-z0-9_]*){1,8}$/;

/** Whether `path` is a JSON path this module accepts (`$.member` or `$.a.b`, plain names only). */
export function isSimpleJsonPath(path: unknown): path is string {
  return typeof path === 'string' && JSON_PATH.test(path);
}

function checkedPath(path: string): string {
  if (!isSimpleJsonPath(path)) throw new Error(`unsupported JSON path ${JSON.stringify(path)}`);
  return path;
}

/**
 * The number at `path` of the JSON document in `column`, or NULL when the document is not
 * valid JSON or the member is missing. A member written as a JSON string ("12") counts too.
 * SQLite's json_extract raises an error on malformed JSON, so validity is checked first there.
 */
export function jsonNumber(dialect: Dialect, column: string, path: string, kind: JsonNumberKind): string {
  const p = `'${checkedPath(path)}'`;
  if (dialect === 'sqlite') {
    return `(CASE WHEN json_valid(${column}) THEN CAST(json_extract(${column}, ${p}) AS ${kind === 'integer' ? 'INTEGER' : 'REAL'}) END)`;
  }
  // JSON_UNQUOTE turns "12" into 12; a JSON null becomes the text 'null', which NULLIF drops.
  const value = `NULLIF(JSON_UNQUOTE(JSON_EXTRACT(${column}, ${p})), 'null')`;
  return `(CASE WHEN JSON_VALID(${column}) THEN CAST(${value} AS ${kind === 'integer' ? 'SIGNED' : 'DECIMAL(20,4)'}) END)`;
}

/** A JSON object built from `name → SQL expression` pairs (names are plain literals, checked here). */
export function jsonObject(dialect: Dialect, members: ReadonlyArray<readonly [string, string]>): string {
  const parts = members.map(([name, expr]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`unsupported JSON member name ${JSON.stringify(name)}`);
    return `'${name}', ${expr}`;
  });
  return `${dialect === 'sqlite' ? 'json_object' : 'JSON_OBJECT'}(${parts.join(', ')})`;
}

/** An average rounded to `digits` decimals, the same on both engines (MariaDB would keep AVG's extra scale). */
export function roundedAverage(dialect: Dialect, expr: string, digits = 2): string {
  return dialect === 'sqlite' ? `ROUND(AVG(${expr}), ${digits})` : `CAST(ROUND(AVG(${expr}), ${digits}) AS DOUBLE)`;
}
