import { UsageError } from '../util/errors.js';
import type { Dialect } from './types.js';

const CONFIG_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/**
 * Table and column names that come from configuration must be plain identifiers: anything
 * with quotes, backticks, semicolons, comments or spaces is refused before any SQL is built.
 */
export function checkIdentifier(name: unknown, what = 'identifier'): string {
  if (typeof name !== 'string' || !CONFIG_IDENTIFIER.test(name)) {
    throw new UsageError(
      `${what} ${JSON.stringify(name)} is not a valid name (letters, digits and _, starting with a letter or _)`,
    );
  }
  return name;
}

/**
 * Quotes any name exactly as the engine stores it — including names read from the catalog
 * that contain odd characters, which a backup has to reproduce.
 */
export function quoteIdentifier(dialect: Dialect, name: string): string {
  if (dialect === 'mysql') return '`' + name.replace(/`/g, '``') + '`';
  return '"' + name.replace(/"/g, '""') + '"';
}
