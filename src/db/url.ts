import path from 'node:path';
import { UsageError } from '../util/errors.js';

export type DatabaseTarget =
  | { kind: 'sqlite'; path: string }
  | {
      kind: 'mysql';
      host: string;
      port: number;
      user: string;
      password: string;
      database: string;
      socketPath?: string;
    };

export const DEFAULT_DATABASE_URL = 'sqlite:./var/webjobs.sqlite';

/** Parses `sqlite:<path>`, `mysql://user:pass@host:port/db[?socketPath=…]` (or `mariadb://`). */
export function parseDatabaseUrl(url: string, cwd = process.cwd()): DatabaseTarget {
  if (url.startsWith('sqlite:')) {
    let p = url.slice('sqlite:'.length);
    if (p.startsWith('//')) p = p.slice(2);
    if (!p) throw new UsageError(`database URL "${url}" names no file (expected sqlite:<path>)`);
    return { kind: 'sqlite', path: path.resolve(cwd, p) };
  }
  if (/^(mysql|mariadb):\/\//.test(url)) {
    let u: URL;
    try {
      u = new URL(url.replace(/^mariadb:/, 'mysql:'));
    } catch {
      throw new UsageError(`database URL "${maskUrl(url)}" is not a valid mysql:// URL`);
    }
    const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
    if (!database)
      throw new UsageError(`database URL "${maskUrl(url)}" names no database (mysql://user:pass@host:port/db)`);
    const port = u.port ? Number(u.port) : 3306;
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new UsageError(`database URL "${maskUrl(url)}" has a bad port`);
    }
    const socketPath = u.searchParams.get('socketPath') ?? undefined;
    return {
      kind: 'mysql',
      host: u.hostname || 'localhost',
      port,
      user: decodeURIComponent(u.username || 'root'),
      password: decodeURIComponent(u.password),
      database,
      ...(socketPath ? { socketPath } : {}),
    };
  }
  throw new UsageError(`database URL "${maskUrl(url)}" must start with sqlite:, mysql:// or mariadb://`);
}

/** Replaces the password of any URL inside `text` with `***`. */
export function maskUrl(text: string): string {
  // The password stops at '/', as in a URL: without that, every URL without credentials in a
  // long single-line text (a JSON result listing 1,000 URLs) scanned to the end of the text.
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)([^@\s/]*)@/gi, '$1***@');
}

/** The secrets of a URL (its password, raw and decoded), for the logger to mask anywhere. */
export function urlSecrets(url: string): string[] {
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:([^@\s]+)@/i.exec(url);
  if (!m || !m[1]) return [];
  const raw = m[1];
  let decoded = raw;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    /* keep the raw form only */
  }
  return [...new Set([raw, decoded])];
}

export function describeTarget(t: DatabaseTarget): string {
  if (t.kind === 'sqlite') return `sqlite:${t.path}`;
  const where = t.socketPath ? `socket ${t.socketPath}` : `${t.host}:${t.port}`;
  return `mysql ${t.user}@${where}/${t.database}`;
}
