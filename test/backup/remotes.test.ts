import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkRemoteAccess,
  checkRemoteCopy,
  copyToRemotes,
  openRemote,
  remotesFromConfig,
  RemoteMismatch,
  type BackupRemote,
  type RemoteTarget,
} from '../../src/backup/remotes/index.js';
import { parseRemoteUrl } from '../../src/backup/remotes/url.js';
import { digestFile } from '../../src/backup/sha256.js';
import { Config } from '../../src/config/config.js';
import { tempDir } from '../support/databases.js';
import { startS3Server, startSftpServer, type S3Server, type SftpServer } from './servers.js';

const NAME = 'backup_full_2026-11-25_03-00-00.sql.gz.age';

function flipByte(file: string, at: number): void {
  const fd = fs.openSync(file, 'r+');
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, at);
  b[0] = (b[0] ?? 0) ^ 0x40;
  fs.writeSync(fd, b, 0, 1, at);
  fs.closeSync(fd);
}

describe('off-site copies: S3 (s3rver) and SFTP (OpenSSH sshd) on loopback', () => {
  let work: string;
  let s3: S3Server;
  let sftp: SftpServer;
  let local: string;
  let config: Config;
  let s3Target: RemoteTarget;
  let sftpTarget: RemoteTarget;

  beforeAll(async () => {
    work = tempDir('webjobs-remotes-');
    [s3, sftp] = await Promise.all([startS3Server(), startSftpServer()]);
    // 19 MB of random bytes: three multipart parts on S3, many SFTP requests.
    local = path.join(work, NAME);
    const fd = fs.openSync(local, 'w');
    for (let i = 0; i < 19; i++) fs.writeSync(fd, crypto.randomBytes(1024 * 1024));
    fs.closeSync(fd);
    config = new Config(
      {
        backup: {
          remotes: [`s3://${s3.bucket}/nightly/db`, sftp.url('offsite')],
          s3: { endpoint: s3.endpoint, region: 'eu-west-1', ...s3.credentials },
          sftp: { keyFile: sftp.keyFile, knownHostsFile: sftp.knownHostsFile },
          remoteRetry: { tries: 2, backoffSeconds: [0] },
        },
      },
      null,
      work,
    );
    [s3Target, sftpTarget] = remotesFromConfig(config) as [RemoteTarget, RemoteTarget];
  });
  afterAll(async () => {
    await Promise.all([s3?.cleanup(), sftp?.cleanup()]);
    fs.rmSync(work, { recursive: true, force: true });
  });

  async function withRemote<T>(target: RemoteTarget, fn: (r: BackupRemote) => Promise<T>): Promise<T> {
    const r = await openRemote(target, config);
    try {
      return await fn(r);
    } finally {
      await r.close();
    }
  }

  it('parses remote URLs; a password in the URL, another scheme, or SFTP without a key file is a UsageError', () => {
    expect(parseRemoteUrl('s3://b/x/y/', 'r')).toMatchObject({ kind: 's3', bucket: 'b', prefix: 'x/y/' });
    expect(parseRemoteUrl('s3://b', 'r')).toMatchObject({ prefix: '' });
    expect(parseRemoteUrl('sftp://me@host:2222/srv/b', 'r')).toMatchObject({ port: 2222, dir: '/srv/b', user: 'me' });
    expect(() => parseRemoteUrl('sftp://me:pw@host/srv', 'r')).toThrow(/no password/);
    expect(() => parseRemoteUrl('ftp://host/x', 'r')).toThrow(/unsupported scheme/);
    expect(() => parseRemoteUrl('sftp://host/x', 'r')).toThrow(/needs a user/);
    expect(() => remotesFromConfig(new Config({ backup: { remotes: ['sftp://u@h/x'] } }, null, work))).toThrow(
      /backup\.sftp\.keyFile is required/,
    );
  });

  it('uploads to both, each copy read back with the same size and SHA-256; list shows only webjobs backups', async () => {
    const copies = await copyToRemotes(local, [s3Target, sftpTarget], {
      config,
      sleep: async () => undefined,
      log: () => undefined,
      warn: () => undefined,
    });
    const expected = await digestFile(local);
    expect(copies.map((c) => [c.remote, c.ok, c.sha256])).toEqual([
      [`s3://${s3.bucket}/nightly/db`, true, expected.sha256],
      [sftp.url('offsite'), true, expected.sha256],
    ]);
    expect(fs.statSync(path.join(sftp.dir, 'offsite', NAME)).size).toBe(expected.bytes);
    expect(fs.readdirSync(path.join(sftp.dir, 'offsite'))).toEqual([NAME]); // no temporary name left
    expect(fs.statSync(path.join(sftp.dir, 'offsite', NAME)).mode & 0o777).toBe(0o600);
    fs.writeFileSync(path.join(sftp.dir, 'offsite', 'notes.txt'), 'not ours');
    for (const target of [s3Target, sftpTarget]) {
      await withRemote(target, async (r) => {
        expect(await r.digest(NAME)).toEqual(expected);
        expect(await r.list()).toEqual([{ name: NAME, bytes: expected.bytes }]);
        await expect(r.remove('notes.txt')).rejects.toThrow(/not a webjobs backup/);
      });
    }
    expect(fs.existsSync(path.join(sftp.dir, 'offsite', 'notes.txt'))).toBe(true);
  });

  it('a flipped byte in a stored copy is caught by the check, on each remote', async () => {
    const expected = await digestFile(local);
    const damaged: Array<[RemoteTarget, string]> = [
      [s3Target, s3.objectPath(`nightly/db/${NAME}`)],
      [sftpTarget, path.join(sftp.dir, 'offsite', NAME)],
    ];
    for (const [target, file] of damaged) {
      await withRemote(target, (r) => checkRemoteCopy(r, NAME, expected)); // whole before
      flipByte(file, 12_345_678);
      await withRemote(target, async (r) => {
        const err = await checkRemoteCopy(r, NAME, expected).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(RemoteMismatch);
        expect(String(err)).toContain(`${NAME} on ${target.url} differs`);
      });
      flipByte(file, 12_345_678);
    }
  });

  it('remove deletes a webjobs backup on each remote', async () => {
    for (const target of [s3Target, sftpTarget]) {
      await withRemote(target, async (r) => {
        await r.remove(NAME);
        expect(await r.list()).toEqual([]);
        expect(await r.digest(NAME)).toBeNull();
      });
    }
  });

  it('an SFTP server whose host key is not the known one is refused', async () => {
    const other = path.join(work, 'known_hosts_other');
    const line = fs.readFileSync(sftp.knownHostsFile, 'utf8').split(' ');
    // Same host and key type, someone else's key.
    const fake = fs.readFileSync(`${sftp.keyFile}.pub`, 'utf8').split(' ')[1];
    fs.writeFileSync(other, `${line[0]} ${line[1]} ${fake}\n`);
    const cfg = new Config(
      { backup: { sftp: { keyFile: sftp.keyFile, knownHostsFile: other }, remotes: [sftp.url('x')] } },
      null,
      work,
    );
    await expect(openRemote(sftpTarget, cfg)).rejects.toThrow();
    expect(fs.existsSync(path.join(sftp.dir, 'x'))).toBe(false);
    // A server missing from known_hosts, or an unreadable key, is refused before any backup starts.
    fs.writeFileSync(other, `[127.0.0.1]:1 ${line[1]} ${fake}\n`);
    expect(() => checkRemoteAccess([sftpTarget], cfg)).toThrow(/is not in .*known_hosts_other/);
    const noKey = new Config({ backup: { sftp: { keyFile: path.join(work, 'nokey') } } }, null, work);
    expect(() => checkRemoteAccess([sftpTarget], noKey)).toThrow(/keyFile .* cannot be read/);
    expect(() => checkRemoteAccess([sftpTarget], config)).not.toThrow();
  });

  it('a stopped server fails that remote only, after the configured tries; the other copy is made', async () => {
    await sftp.stop();
    try {
      const messages: string[] = [];
      const copies = await copyToRemotes(local, [s3Target, sftpTarget], {
        config,
        sleep: async () => undefined,
        log: (m) => messages.push(m),
        warn: (m) => messages.push(m),
      });
      expect(copies[0]).toMatchObject({ ok: true });
      expect(copies[1]).toMatchObject({ ok: false, attempts: 2, remote: sftp.url('offsite') });
      expect(copies[1]?.error).toMatch(/ECONNREFUSED/);
      expect(messages.join('\n')).toContain(`copy to ${sftp.url('offsite')} failed after 2 attempt(s)`);
    } finally {
      await sftp.start();
    }
  });
});
