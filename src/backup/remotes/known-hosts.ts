import crypto from 'node:crypto';
import fs from 'node:fs';
import { UsageError } from '../../util/errors.js';

/** How OpenSSH names a host in known_hosts: `host` on port 22, `[host]:port` otherwise. */
function hostPattern(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** One known_hosts host field entry (plain or `|1|salt|hash`, as HashKnownHosts writes it) against `name`. */
function entryMatches(entry: string, name: string): boolean {
  if (entry.startsWith('|1|')) {
    const [, , salt, hash] = entry.split('|');
    if (!salt || !hash) return false;
    const mac = crypto.createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return mac === hash;
  }
  return entry === name;
}

/**
 * The host keys (raw SSH wire blobs) that `file` lists for host:port. A missing file, or a host
 * it does not list, is a UsageError: an SFTP copy never goes to a server we cannot identify.
 */
export function knownHostKeys(file: string, host: string, port: number): Buffer[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(
      `known hosts file ${file} cannot be read: add the server with ssh-keyscan -p ${port} ${host} >> ${file} (after checking its fingerprint), or set backup.sftp.knownHostsFile`,
    );
  }
  const name = hostPattern(host, port);
  const keys: Buffer[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (!fields[0] || fields[0].startsWith('#') || fields[0].startsWith('@')) continue;
    const [hosts, , key] = fields;
    if (!key || !hosts?.split(',').some((h) => entryMatches(h, name))) continue;
    keys.push(Buffer.from(key, 'base64'));
  }
  if (!keys.length) throw new UsageError(`${name} is not in ${file}: add its host key (ssh-keyscan) before using it`);
  return keys;
}
