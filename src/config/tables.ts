import { checkIdentifier } from '../db/identifiers.js';
import type { Config } from './config.js';

/**
 * Every reference table and column can be renamed in config:
 * `"tables": { "cache": { "name": "app_cache", "columns": { "expires_at": "expiration" } } }`.
 * Names are checked before any SQL is built with them.
 */
export class TableMap {
  constructor(private readonly config: Config) {}

  /** Checks every name the config maps, so a hostile one is refused before a job starts. */
  checkAll(): void {
    for (const [logical, entry] of Object.entries(this.config.section('tables'))) {
      if (entry && typeof entry === 'object' && 'name' in entry) this.table(logical);
      const columns =
        entry && typeof entry === 'object' && 'columns' in entry ? (entry as { columns: unknown }).columns : undefined;
      if (columns && typeof columns === 'object')
        for (const column of Object.keys(columns)) this.column(logical, column);
    }
  }

  table(logical: string): string {
    const mapped = this.config.get(`tables.${logical}.name`);
    return checkIdentifier(mapped ?? logical, `config tables.${logical}.name`);
  }

  column(logical: string, column: string): string {
    const mapped = this.config.get(`tables.${logical}.columns.${column}`);
    return checkIdentifier(mapped ?? column, `config tables.${logical}.columns.${column}`);
  }
}
