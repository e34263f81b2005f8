import { checkIdentifier } from '../../db/identifiers.js';
import type { Db } from '../../db/types.js';
import { UsageError } from '../../util/errors.js';

/**
 * Config `retention.rules`: generic "rows older than N days" rules, so policies such as seed
 * 001's (jobs 30 days when completed or failed, read notifications 60 days, audit logs a year
 * unless critical) are configuration, not code. Every name is checked with checkIdentifier,
 * every operator comes from a fixed list, every value is a bound parameter.
 */

type Scalar = string | number | boolean;
type ConditionOp = '=' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | 'not in' | 'is null' | 'is not null';
type TimeFormat = 'datetime' | 'unix' | 'unix_ms';

interface RuleCondition {
  column: string;
  op: ConditionOp;
  value?: Scalar | Scalar[];
}

export interface RetentionRule {
  name: string;
  table: string;
  /** The time column whose age decides. */
  column: string;
  /** Rows whose column is more than this many days before now; 0: before now (an expiry column). */
  days: number;
  timeFormat: TimeFormat;
  /** A unique, ordered key (the primary key): deletes go in chunks of ranges of it. */
  key: string;
  where: RuleCondition[];
  action: 'delete' | 'set';
  /** For action `set`: the columns to set and their values. */
  set: Array<[string, Scalar | null]>;
}

const OPS: Record<string, ConditionOp> = {
  '=': '=',
  '==': '=',
  '!=': '!=',
  '<>': '!=',
  '<': '<',
  '<=': '<=',
  '>': '>',
  '>=': '>=',
  in: 'in',
  'not in': 'not in',
  'is null': 'is null',
  'is not null': 'is not null',
};

const RULE_KEYS = new Set(['name', 'table', 'column', 'days', 'timeFormat', 'key', 'where', 'action', 'set']);
const CONDITION_KEYS = new Set(['column', 'op', 'value']);

function isScalar(v: unknown): v is Scalar {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function parseCondition(raw: unknown, where: string): RuleCondition {
  if (!isObject(raw)) throw new UsageError(`${where} must be an object {"column", "op", "value"}`);
  for (const k of Object.keys(raw))
    if (!CONDITION_KEYS.has(k)) throw new UsageError(`${where} has an unknown key "${k}" (allowed: column, op, value)`);
  const column = checkIdentifier(raw.column, `${where}.column`);
  const opText = typeof raw.op === 'string' ? raw.op.trim().toLowerCase().replace(/\s+/g, ' ') : '';
  const op = OPS[opText];
  if (!op)
    throw new UsageError(
      `${where}.op ${JSON.stringify(raw.op)} is not allowed (one of ${Object.keys(OPS).join(', ')})`,
    );
  const value = raw.value;
  if (op === 'is null' || op === 'is not null') {
    if (value !== undefined) throw new UsageError(`${where}: "${op}" takes no value`);
    return { column, op };
  }
  if (op === 'in' || op === 'not in') {
    if (!Array.isArray(value) || value.length === 0 || !value.every(isScalar))
      throw new UsageError(`${where}: "${op}" needs a non-empty list of strings, numbers or booleans`);
    return { column, op, value };
  }
  if (value === null) throw new UsageError(`${where}: compare with null using "is null" or "is not null"`);
  if (!isScalar(value)) throw new UsageError(`${where}.value must be a string, number or boolean`);
  return { column, op, value };
}

function parseRule(raw: unknown, index: number, names: Set<string>): RetentionRule {
  const where = `config retention.rules[${index}]`;
  if (!isObject(raw)) throw new UsageError(`${where} must be an object`);
  for (const k of Object.keys(raw))
    if (!RULE_KEYS.has(k))
      throw new UsageError(`${where} has an unknown key "${k}" (allowed: ${[...RULE_KEYS].join(', ')})`);
  const table = checkIdentifier(raw.table, `${where}.table`);
  const column = checkIdentifier(raw.column, `${where}.column`);
  const key = checkIdentifier(raw.key ?? 'id', `${where}.key`);
  const days = raw.days;
  // 0: rows whose own time column is already past, e.g. an expires_at (seed 001's CSRF tokens go at expiry).
  if (typeof days !== 'number' || !Number.isInteger(days) || days < 0 || days > 36500)
    throw new UsageError(`${where}.days must be a whole number of days from 0 to 36500, got ${JSON.stringify(days)}`);
  const timeFormat = raw.timeFormat ?? 'datetime';
  if (timeFormat !== 'datetime' && timeFormat !== 'unix' && timeFormat !== 'unix_ms')
    throw new UsageError(`${where}.timeFormat must be datetime, unix or unix_ms`);
  const name = raw.name === undefined ? `${table}.${column}` : raw.name;
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.:-]{1,64}$/.test(name))
    throw new UsageError(`${where}.name must be 1-64 letters, digits, _ . : -`);
  if (names.has(name)) throw new UsageError(`${where}.name "${name}" is used by another rule`);
  names.add(name);
  const conditions = raw.where === undefined ? [] : Array.isArray(raw.where) ? raw.where : [raw.where];
  const parsedWhere = conditions.map((c, i) => parseCondition(c, `${where}.where[${i}]`));
  const action = raw.action ?? 'delete';
  if (action !== 'delete' && action !== 'set')
    throw new UsageError(`${where}.action must be "delete" or "set", got ${JSON.stringify(action)}`);
  const set: Array<[string, Scalar | null]> = [];
  if (action === 'set') {
    if (!isObject(raw.set) || Object.keys(raw.set).length === 0)
      throw new UsageError(`${where}.set must name at least one column and its value for action "set"`);
    for (const [col, value] of Object.entries(raw.set)) {
      checkIdentifier(col, `${where}.set column`);
      if (value !== null && !isScalar(value))
        throw new UsageError(`${where}.set.${col} must be a string, number, boolean or null`);
      if (col === column) throw new UsageError(`${where}.set must not change the rule's own time column`);
      set.push([col, value]);
    }
  } else if (raw.set !== undefined) {
    throw new UsageError(`${where}.set is only for action "set"`);
  }
  return { name, table, column, days, timeFormat, key, where: parsedWhere, action, set };
}

/** Parses and checks config `retention.rules` (absent: no rule). Throws UsageError on anything odd. */
export function parseRetentionRules(raw: unknown): RetentionRule[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new UsageError('config retention.rules must be a list of rules');
  const names = new Set<string>();
  return raw.map((r, i) => parseRule(r, i, names));
}

const bindable = (v: Scalar | null) => (typeof v === 'boolean' ? (v ? 1 : 0) : v);

interface CompiledRule {
  /** The rows the rule acts on: SQL over quoted names, values as `?`. */
  where: string;
  params: unknown[];
}

/** The rule's condition as SQL: older than the cutoff, the rule's conditions, and for `set`, not already set. */
export function compileRule(db: Db, rule: RetentionRule, cutoff: string | number): CompiledRule {
  const q = (n: string) => db.quote(n);
  const parts = [`${q(rule.column)} < ?`];
  const params: unknown[] = [cutoff];
  for (const c of rule.where) {
    const col = q(c.column);
    if (c.op === 'is null' || c.op === 'is not null') {
      parts.push(`${col} ${c.op.toUpperCase()}`);
    } else if (c.op === 'in' || c.op === 'not in') {
      const list = c.value as Scalar[];
      parts.push(`${col} ${c.op.toUpperCase()} (${list.map(() => '?').join(', ')})`);
      params.push(...list.map(bindable));
    } else {
      parts.push(`${col} ${c.op === '!=' ? '<>' : c.op} ?`);
      params.push(bindable(c.value as Scalar));
    }
  }
  if (rule.action === 'set') {
    // Rows already carrying every target value are left alone, so a second run changes nothing.
    const differs = rule.set.map(([col, value]) =>
      value === null ? `${q(col)} IS NOT NULL` : `(${q(col)} IS NULL OR ${q(col)} <> ?)`,
    );
    for (const [, value] of rule.set) if (value !== null) params.push(bindable(value));
    parts.push(`(${differs.join(' OR ')})`);
  }
  return { where: parts.join(' AND '), params };
}
