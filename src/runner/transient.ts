/**
 * Errors worth another try: the connection dropped, a deadlock, a lock wait, a busy SQLite
 * file. Everything else (a syntax error, a missing table, a full disk) fails at once.
 */
const TRANSIENT_CODES = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_SERVER_SHUTDOWN',
  'ER_CON_COUNT_ERROR',
  'ER_QUERY_INTERRUPTED',
  'SQLITE_BUSY',
  'SQLITE_BUSY_SNAPSHOT',
  'SQLITE_BUSY_RECOVERY',
  'SQLITE_LOCKED',
]);

// CR_SERVER_GONE_ERROR, CR_SERVER_LOST, ER_LOCK_WAIT_TIMEOUT, ER_LOCK_DEADLOCK, ER_SERVER_SHUTDOWN
const TRANSIENT_ERRNOS = new Set([2006, 2013, 1205, 1213, 1053, 1040]);

export function isTransientError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; errno?: unknown; fatal?: unknown; cause?: unknown };
  if (typeof e.code === 'string' && TRANSIENT_CODES.has(e.code)) return true;
  if (typeof e.errno === 'number' && TRANSIENT_ERRNOS.has(e.errno)) return true;
  if (e.cause && e.cause !== err) return isTransientError(e.cause);
  return false;
}
