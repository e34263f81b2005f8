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
  /** Also views and triggers (full backups). */
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

interface DumpedTable {
  name: string;
  rows: number;
  /** Computed from the same snapshot as the dump, so --verify compares like with like. */
  checksum: string;
}

export interface DumpResult {
  tables: DumpedTable[];
  views: string[];
  triggers: string[];
}

/** Per-table row count and content checksum, computed the same way on the source and on a restored copy. */
export interface TableChecksum {
  table: string;
  rows: number;
  checksum: string;
}
