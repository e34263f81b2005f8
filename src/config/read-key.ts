import path from 'node:path';
import { UsageError } from '../util/errors.js';
import { checkPath } from '../util/paths.js';
import { checkNumber } from './check-number.js';
import type { KeySpec } from './schema.js';

/**
 * Checks a value found at `what` (a config key, or a flag that stands for one) against its
 * schema entry and returns it typed; `baseDir` resolves a relative path.
 */
export function readKey(spec: KeySpec, raw: unknown, what: string, baseDir: string): unknown {
  const range = { min: spec.min, max: spec.max, integer: spec.type === 'int' };
  switch (spec.type) {
    case 'int':
    case 'number':
      return checkNumber(raw, what, range);
    case 'boolean':
      if (typeof raw !== 'boolean') throw new UsageError(`${what} must be true or false`);
      return raw;
    case 'string':
      return requireString(raw, what);
    case 'path':
      return path.resolve(baseDir, checkPath(requireString(raw, what), what));
    case 'choice': {
      const choices = spec.choices ?? [];
      if (typeof raw !== 'string' || !choices.includes(raw))
        throw new UsageError(
          `${what} must be ${choices.map((c) => `"${c}"`).join(' or ')}, got ${JSON.stringify(raw)}`,
        );
      return raw;
    }
    case 'stringList':
      if (!Array.isArray(raw) || raw.some((x) => typeof x !== 'string'))
        throw new UsageError(`${what} must be a list of strings`);
      return raw;
    case 'numberList':
      if (!Array.isArray(raw) || raw.some((x) => typeof x !== 'number' || !Number.isFinite(x)))
        throw new UsageError(`${what} must be a list of numbers`);
      return raw.map((x: number) => checkNumber(x, `${what} entry`, { ...range, integer: false }));
    case 'object':
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
        throw new UsageError(`${what} must be an object`);
      return raw;
    case 'list':
      if (!Array.isArray(raw)) throw new UsageError(`${what} must be a list`);
      return raw;
  }
}

function requireString(raw: unknown, what: string): string {
  if (typeof raw !== 'string') throw new UsageError(`${what} must be a string`);
  return raw;
}

/** A flag's value (typed by commander already), checked against the entry of the key it stands for. */
export function readFlag(spec: KeySpec, raw: unknown, flag: string): unknown {
  if ((spec.type === 'int' || spec.type === 'number') && spec.min !== undefined && spec.max !== undefined) {
    const n = checkNumber(raw, flag, { integer: spec.type === 'int' });
    if (n < spec.min || n > spec.max) throw new UsageError(`${flag} must be between ${spec.min} and ${spec.max}`);
    return n;
  }
  return readKey(spec, raw, flag, process.cwd());
}
