import { UsageError } from '../util/errors.js';

export interface NumberRange {
  min?: number;
  max?: number;
  integer?: boolean;
}

export function checkNumber(value: unknown, what: string, range: NumberRange = {}): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n))
    throw new UsageError(`${what} must be a number, got ${JSON.stringify(value)}`);
  if ((range.integer ?? true) && !Number.isInteger(n))
    throw new UsageError(`${what} must be a whole number, got ${JSON.stringify(value)}`);
  if (range.min !== undefined && n < range.min) throw new UsageError(`${what} must be at least ${range.min}, got ${n}`);
  if (range.max !== undefined && n > range.max) throw new UsageError(`${what} must be at most ${range.max}, got ${n}`);
  return n;
}
