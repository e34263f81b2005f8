import { UsageError } from './errors.js';

/**
 * A folder or file path from a flag or config. Control characters (a newline above all) are
 * refused: they would split cron log lines and crontab entries. Spaces and `..` are fine.
 */
export function checkPath(value: string, what: string): string {
  if (!value.trim()) throw new UsageError(`${what} is empty`);
  if (/[\u0000-\u001f\u007f]/.test(value))
    throw new UsageError(`${what} ${JSON.stringify(value)} contains a control character (newline, tab...): refused`);
  return value;
}
