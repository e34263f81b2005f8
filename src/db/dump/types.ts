/**
 * What a backup writer needs and returns, the same for both engines. Writers stream rows
 * straight into the sink: nothing is held per table beyond one INSERT statement.
 */
export interface SqlSink {
  /** Resolves once the chunk is accepted (waits on back-pressure from gzip and the disk). */
  write(chunk: string | Buffer): Promise<void>;
}

interface DumpProgress {
  table: string;
  rowsDone: number;
  rowsEstimate: number;
}

export interface DumpRequest {
  /** Tables to back up, as they exist (already filtered to existing ones). */
  tables: string[];
  /** Full backups: also views and triggers, and (MariaDB/MySQL) sequences, stored routines and events. */
  includeViewsAndTriggers: boolean;
  /** Header lines (written as SQL comments): type, source, time, tool version. */
  headerLines: string[];
  /** Footer line: completion time is added by the writer's caller. */
  footerLine: () => string;
  signal?: AbortSignal;
  onProgress?: (p: DumpProgress) => void;
  /** Compute per-table checksums while dumping (for --verify); default true. Off, DumpedTable.checksum is ''. */
  checksums?: boolean;
  /** Upper bound for one multi-row INSERT, in bytes of SQL (MariaDB: keep under max_allowed_packet). */
  maxStatementBytes?: number;
}

export interface DumpedTable {
  name: string;
  rows: number;
  /** Computed from the same snapshot as the dump, so --verify compares like with like. */
  checksum: string;
}

export interface DumpResult {
  tables: DumpedTable[];
  views: string[];
  triggers: string[];
  /** MariaDB/MySQL: `function f`, `procedure p`. */
  routines: string[];
  events: string[];
  sequences: string[];
  /** What the file does not hold as the user might expect, one line each (the job logs them as warnings). */
  warnings: string[];
  /** The engine's version as it reports it (`10.11.9-MariaDB…`, SQLite `3.46.1`). */
  serverVersion: string;
  /** Where the snapshot sits in the server's change log, when it keeps one (MariaDB with binary logging on). */
  snapshot: SnapshotPosition | null;
}

/** A dump's result before anything is dumped: both engines fill the same empty lists. */
export function emptyDumpResult(serverVersion: string): DumpResult {
  return {
    tables: [],
    views: [],
    triggers: [],
    routines: [],
    events: [],
    sequences: [],
    warnings: [],
    serverVersion,
    snapshot: null,
  };
}

export interface SnapshotPosition {
  binlogFile: string;
  binlogPosition: number;
  /** MariaDB GTID position of the same point (for a replica started from the restore). */
  gtid: string | null;
}

/** A table dropped or altered while the dump read the others (MariaDB error 1412 or 1146): a fresh snapshot may succeed. */
export class TableChangedError extends Error {
  constructor(
    readonly table: string,
    cause: unknown,
  ) {
    super(`table ${table} was dropped or altered during the backup (${(cause as Error).message})`, { cause });
  }
}

/** Per-table row count and content checksum, computed the same way on the source and on a restored copy. */
export interface TableChecksum {
  table: string;
  rows: number;
  checksum: string;
}
