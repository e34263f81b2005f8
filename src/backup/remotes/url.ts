import { UsageError } from '../../util/errors.js';

export type RemoteTarget =
  | { kind: 's3'; url: string; bucket: string; prefix: string }
  | { kind: 'sftp'; url: string; user: string; host: string; port: number; dir: string };

/**
 * `s3://bucket/prefix` or `sftp://user@host:port/absolute/path`; anything else (another
 * scheme, a password in the URL, no user for SFTP) is a UsageError naming the entry.
 */
export function parseRemoteUrl(raw: string, where: string): RemoteTarget {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new UsageError(`${where} is not a URL (s3://bucket/prefix or sftp://user@host:port/path)`);
  }
  if (u.password)
    throw new UsageError(`${where}: no password in the URL; S3 keys go in backup.s3, SFTP uses backup.sftp.keyFile`);
  const label = `${u.protocol}//${u.username ? `${u.username}@` : ''}${u.host}${u.pathname.replace(/\/+$/, '')}`;
  if (u.protocol === 's3:') {
    if (!u.hostname) throw new UsageError(`${where}: s3:// URL without a bucket`);
    const prefix = decodeURIComponent(u.pathname).replace(/^\/+|\/+$/g, '');
    return { kind: 's3', url: label, bucket: u.hostname, prefix: prefix ? `${prefix}/` : '' };
  }
  if (u.protocol === 'sftp:') {
    if (!u.username || !u.hostname) throw new UsageError(`${where}: sftp:// URL needs a user and a host (user@host)`);
    const dir = decodeURIComponent(u.pathname).replace(/\/+$/, '') || '/';
    return {
      kind: 'sftp',
      url: label,
      user: decodeURIComponent(u.username),
      host: u.hostname.replace(/^\[|\]$/g, ''),
      port: u.port ? Number(u.port) : 22,
      dir,
    };
  }
  throw new UsageError(`${where}: unsupported scheme ${u.protocol} (s3:// or sftp://)`);
}
