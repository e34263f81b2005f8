import fs from 'node:fs';
import readline from 'node:readline';
import { openBackupSql } from '../../backup/open-backup.js';
import { throwIfAborted, UsageError } from '../../util/errors.js';
import type { MysqlDb } from '../mysql.js';
import type { SqliteDb } from '../sqlite.js';
import type { Db } from '../types.js';
import { FOOTER_PREFIX, parseHeader, type BackupHeader } from './format.js';
import { StatementSplitter } from './split.js';

/**
 * Reads the whole file once (gunzip checks its CRC and length) and returns its header, or
 * throws a UsageError: not gzip, truncated, not a webjobs backup. Nothing is touched.
 */
export async function inspectBackup(
  file: string,
  opts: { identities?: readonly string[] } = {},
): Promise<BackupHeader> {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new UsageError(`backup file ${file} does not exist or cannot be read`);
  }
  if (!stat.isFile()) throw new UsageError(`backup file ${file} is not a regular file`);
  const headLines: string[] = [];
  let lastLine = '';
  try {
    const lines = readline.createInterface({ input: await openBackupSql(file, opts), crlfDelay: Infinity });
    for await (const line of lines) {
      if (headLines.length < 12) headLines.push(line);
      if (line.trim()) lastLine = line;
    }
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR'
        ? 'is not a valid gzip file (or is damaged)'
        : `cannot be read (${(err as Error).message})`;
    throw new UsageError(`backup file ${file} ${why}: refused, nothing restored`);
  }
  const header = parseHeader(headLines);
  if (!header) throw new UsageError(`backup file ${file} is not a webjobs backup: refused, nothing restored`);
  if (!lastLine.startsWith(`-- ${FOOTER_PREFIX}`))
    throw new UsageError(`backup file ${file} is incomplete (no completion footer): refused, nothing restored`);
  return header;
}

interface RestoreOptions {
  force?: boolean;
  signal?: AbortSignal;
  onStatement?: (count: number) => void;
  /** age secret keys for an encrypted backup. */
  identities?: readonly string[];
}

interface RestoreResult {
  header: BackupHeader;
  statements: number;
  tables: string[];
}

/** Restores a webjobs backup into `db`; refuses a target that already holds any of its tables unless `force`. */
export async function restoreBackup(db: Db, file: string, opts: RestoreOptions = {}): Promise<RestoreResult> {
  const header = await inspectBackup(file, opts);
  if (header.engine !== db.dialect) {
    throw new UsageError(`backup ${file} was taken from ${header.engine} and cannot be restored into ${db.dialect}`);
  }
  if (!opts.force) {
    const existing: string[] = [];
    for (const t of header.tables) if (await db.tableExists(t)) existing.push(t);
    if (existing.length) {
      throw new UsageError(
        `target ${db.description} already holds ${existing.length} of the backup's tables (${existing.slice(0, 5).join(', ')}${existing.length > 5 ? ', …' : ''}): use --force to replace them`,
      );
    }
  }
  const splitter = new StatementSplitter(db.dialect);
  let count = 0;
  const input = await openBackupSql(file, opts);
  input.setEncoding('utf8');
  const apply = await executor(db);
  try {
    for await (const chunk of input as AsyncIterable<string>) {
      for (const stmt of splitter.push(chunk)) {
        await apply.run(stmt);
        count++;
        if (count % 100 === 0) {
          opts.onStatement?.(count);
          throwIfAborted(opts.signal);
        }
      }
    }
    const rest = splitter.end();
    if (rest) throw new Error('backup ends in the middle of a statement');
  } catch (err) {
    await apply.abort();
    throw err;
  } finally {
    await apply.close();
  }
  return { header, statements: count, tables: header.tables };
}

interface Executor {
  run(stmt: string): Promise<void>;
  abort(): Promise<void>;
  close(): Promise<void>;
}

async function executor(db: Db): Promise<Executor> {
  if (db.dialect === 'sqlite') {
    const sqlite = db as SqliteDb;
    return {
      run: async (stmt) => {
        sqlite.raw.exec(stmt);
      },
      abort: async () => {
        if (sqlite.raw.inTransaction) sqlite.raw.exec('ROLLBACK');
      },
      close: async () => undefined,
    };
  }
  if (db.dialect === 'mysql') {
    // One connection for the whole file: the dump's SET statements are session state.
    const conn = await (db as MysqlDb).pool.getConnection();
    let failed = false;
    return {
      run: async (stmt) => {
        await conn.query(stmt);
      },
      abort: async () => {
        failed = true;
      },
      // A connection left mid-file still carries the dump's session settings: never reuse it.
      close: async () => (failed ? conn.destroy() : conn.release()),
    };
  }
  throw new Error(`restore is not supported for ${db.dialect}`);
}
