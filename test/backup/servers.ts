import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import S3rver from 's3rver';
import { tempDir } from '../support/databases.js';
import { findBinary, freePort } from '../support/mariadb-server.js';

/** A private OpenSSH server on loopback, for one unprivileged account, with its own host key. */
export interface SftpServer {
  port: number;
  user: string;
  /** The account's private key and a known_hosts file naming this server. */
  keyFile: string;
  knownHostsFile: string;
  /** A folder the account may write, for the remote's path. */
  dir: string;
  url(sub: string): string;
  stop(): Promise<void>;
  start(): Promise<void>;
  cleanup(): Promise<void>;
}

async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`sshd exited (${child.exitCode}): ${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not listen on ${port}: ${log()}`);
}

/**
 * Starts sshd (Debian's openssh-server) on a free loopback port. As root it logs in a
 * throwaway account made for the test (sshd refuses root logins), removed by cleanup;
 * otherwise the current user.
 */
export async function startSftpServer(): Promise<SftpServer> {
  const sshd = findBinary(['sshd']);
  if (!sshd) throw new Error('sshd is not installed: apt-get install -y openssh-server (or npm run test:all)');
  const work = tempDir('webjobs-sshd-');
  fs.chmodSync(work, 0o755);
  const isRoot = process.getuid?.() === 0;
  const user = isRoot ? `wjsftp${randomBytes(3).toString('hex')}` : (process.env.USER ?? 'nobody');
  const dir = path.join(work, 'remote');
  fs.mkdirSync(dir);
  if (isRoot) {
    // '*' rather than useradd's locked '!': sshd without PAM refuses locked accounts even for keys.
    execFileSync('useradd', ['-M', '-d', dir, '-s', '/bin/sh', '-p', '*', user]);
    execFileSync('chown', [user, dir]);
    fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  }
  for (const k of ['host_key', 'client_key'])
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'webjobs-test', '-f', path.join(work, k)]);
  const keyFile = path.join(work, 'client_key');
  fs.writeFileSync(path.join(work, 'authorized_keys'), fs.readFileSync(`${keyFile}.pub`), { mode: 0o644 });
  const port = await freePort();
  const hostPub = fs.readFileSync(path.join(work, 'host_key.pub'), 'utf8').trim().split(/\s+/);
  const knownHostsFile = path.join(work, 'known_hosts');
  fs.writeFileSync(knownHostsFile, `[127.0.0.1]:${port} ${hostPub[0]} ${hostPub[1]}\n`);
  const config = path.join(work, 'sshd_config');
  fs.writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${path.join(work, 'host_key')}`,
      `PidFile ${path.join(work, 'sshd.pid')}`,
      `AuthorizedKeysFile ${path.join(work, 'authorized_keys')}`,
      'StrictModes no',
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      `AllowUsers ${user}`,
      'Subsystem sftp internal-sftp',
      'LogLevel ERROR',
    ].join('\n') + '\n',
  );
  let child: ChildProcess | null = null;
  let log = '';
  const start = async () => {
    const c = spawn(sshd, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    c.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    child = c;
    await waitForPort(port, c, () => log);
  };
  const stop = async () => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
    });
  };
  await start();
  return {
    port,
    user,
    keyFile,
    knownHostsFile,
    dir,
    url: (sub) => `sftp://${user}@127.0.0.1:${port}${path.join(dir, sub)}`,
    start,
    stop,
    cleanup: async () => {
      await stop();
      if (isRoot) execFileSync('userdel', [user]);
      fs.rmSync(work, { recursive: true, force: true });
    },
  };
}

/** s3rver (an S3-compatible server in Node) on a free loopback port, one bucket `backups`. */
export interface S3Server {
  endpoint: string;
  bucket: string;
  /** Where s3rver keeps an object's bytes, to damage a copy on purpose. */
  objectPath(key: string): string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  stop(): Promise<void>;
  cleanup(): Promise<void>;
}

export async function startS3Server(): Promise<S3Server> {
  const directory = tempDir('webjobs-s3rver-');
  const port = await freePort();
  const server = new S3rver({
    address: '127.0.0.1',
    port,
    silent: true,
    directory,
    vhostBuckets: false,
    configureBuckets: [{ name: 'backups' }],
  });
  await server.run();
  let running = true;
  const stop = async () => {
    if (running) await server.close();
    running = false;
  };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket: 'backups',
    objectPath: (key) => path.join(directory, 'backups', `${key}._S3rver_object`),
    // s3rver checks request signatures against this fixed key pair.
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    stop,
    cleanup: async () => {
      await stop();
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}
