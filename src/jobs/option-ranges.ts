import { UsageError } from '../util/errors.js';

/** A whole-number option within [min, max] (absent stays absent): the range commander no longer checks. */
export function intInRange(value: number | undefined, flag: string, min: number, max: number): number | undefined {
  if (value !== undefined && (value < min || value > max))
    throw new UsageError(`${flag} must be between ${min} and ${max}`);
  return value;
}
