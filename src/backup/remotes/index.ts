import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../../config/config.js';
import { isTransientError } from '../../runner/transient.js';
import type { Sleep } from '../../util/clock.js';
import { errorMessage, UsageError } from '../../util/errors.js';
import { manifestPathOf } from '../folder-retention.js';
import { digestFile, type Digest } from '../sha256.js';
import { knownHostKeys } from './known-hosts.js';
import type { S3Settings } from './s3.js';
import type { BackupRemote, RemoteFile } from './types.js';
import { parseRemoteUrl, type RemoteTarget } from './url.js';

export type { BackupRemote, RemoteFile } from './types.js';
export type { RemoteTarget } from './url.js';
export type { RemoteRetention } from './retention.js';

/** config `backup.remotes`, each URL checked (exit 2 on a bad one); SFTP ones need `backup.sftp.keyFile`. */
export function remotesFromConfig(config: Config): RemoteTarget[] {
  const targets = config.value('backup.remotes').map((url, i) => parseRemoteUrl(url, `config backup.remotes[${i}]`));
  if (targets.some((t) => t.kind === 'sftp')) sftpKeyFile(config);
  if (targets.some((t) => t.kind === 's3')) s3Settings(config);
  return targets;
}

/**
 * What can be checked of the remotes without connecting, before a backup starts (exit 2): the
 * SFTP key file is readable and each SFTP server's host key is in the known hosts file.
 */
export function checkRemoteAccess(targets: RemoteTarget[], config: Config): void {
  for (const t of targets) {
    if (t.kind !== 'sftp') continue;
    const keyFile = sftpKeyFile(config);
    try {
      fs.accessSync(keyFile, fs.constants.R_OK);
    } catch {
      throw new UsageError(`config backup.sftp.keyFile ${keyFile} cannot be read`);
    }
    knownHostKeys(sftpKnownHosts(config), t.host, t.port);
  }
}

function sftpKnownHosts(config: Config): string {
  return config.value('backup.sftp.knownHostsFile') ?? path.join(os.homedir(), '.ssh', 'known_hosts');
}

function sftpKeyFile(config: Config): string {
  const keyFile = config.value('backup.sftp.keyFile');
  if (keyFile === undefined)
    throw new UsageError('config backup.sftp.keyFile is required for sftp:// remotes (a private key file)');
  return keyFile;
}

/** config backup.s3, each key checked; absent ones are left to the SDK (AWS environment variables, profiles). */
function s3Settings(config: Config): S3Settings {
  return {
    endpoint: config.value('backup.s3.endpoint'),
    region: config.value('backup.s3.region'),
    accessKeyId: config.value('backup.s3.accessKeyId'),
    secretAccessKey: config.value('backup.s3.secretAccessKey'),
    forcePathStyle: config.value('backup.s3.forcePathStyle'),
  };
}

/** Secrets the S3 SDK may take from the environment: registered for masking when a remote is used. */
export function remoteSecretsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return [env.AWS_SECRET_ACCESS_KEY, env.AWS_SESSION_TOKEN].filter((s): s is string => Boolean(s));
}

/**
 * Connects to one remote. The S3 SDK and ssh2 are loaded here, on first use only: a run
 * without remotes never pays their start-up time.
 */
export async function openRemote(target: RemoteTarget, config: Config): Promise<BackupRemote> {
  if (target.kind === 's3') {
    // The SDK warns on every start under Node 20 (support ends January 2027; the lockfile pins a
    // version that runs): a line in every cron mail that no operator can act on from here.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const { S3Remote } = await import('./s3.js');
    return new S3Remote(target.url, target.bucket, target.prefix, s3Settings(config));
  }
  const { SftpRemote } = await import('./sftp.js');
  return SftpRemote.connect(target.url, target, {
    keyFile: sftpKeyFile(config),
    knownHostsFile: sftpKnownHosts(config),
    passphrase: config.value('backup.sftp.passphrase'),
  });
}

/** The stored copy does not match the local file: worth another upload. */
export class RemoteMismatch extends Error {
  override name = 'RemoteMismatch';
}

/** Errors worth another try against a remote: a dropped or refused connection, a 5xx, a throttle, a bad copy. */
export function isTransientRemoteError(err: unknown): boolean {
  if (err instanceof RemoteMismatch || isTransientError(err)) return true;
  const e = err as { $retryable?: unknown; $metadata?: { httpStatusCode?: number }; level?: unknown; name?: unknown };
  const status = e?.$metadata?.httpStatusCode ?? 0;
  return (
    Boolean(e?.$retryable) ||
    status >= 500 ||
    status === 429 ||
    e?.level === 'client-socket' ||
    e?.level === 'client-timeout' ||
    e?.name === 'TimeoutError'
  );
}

/** Reads the copy on `remote` back and compares size and SHA-256 with `expected`; throws RemoteMismatch when they differ. */
export async function checkRemoteCopy(remote: BackupRemote, name: string, expected: Digest): Promise<void> {
  const got = await remote.digest(name);
  if (!got) throw new RemoteMismatch(`${name} is missing on ${remote.label} after the upload`);
  if (got.bytes !== expected.bytes || got.sha256 !== expected.sha256)
    throw new RemoteMismatch(
      `${name} on ${remote.label} differs from the local file (${got.bytes} bytes, sha256 ${got.sha256.slice(0, 12)}… vs ${expected.bytes} bytes, ${expected.sha256.slice(0, 12)}…)`,
    );
}

export interface RemoteCopy {
  remote: string;
  name: string;
  ok: boolean;
  bytes: number;
  sha256: string;
  attempts: number;
  error?: string;
}

export interface CopyOptions {
  config: Config;
  sleep: Sleep;
  signal?: AbortSignal;
  log: (message: string) => void;
  warn: (message: string) => void;
  /** Tries per remote (default config backup.remoteRetry.tries, 3). */
  tries?: number;
  /** Waits between tries, ms (default config backup.remoteRetry.backoffSeconds, [5, 30]). */
  backoffMs?: number[];
}

export function remoteRetryPolicy(config: Config): { tries: number; backoffMs: number[] } {
  return {
    tries: config.value('backup.remoteRetry.tries'),
    backoffMs: config.value('backup.remoteRetry.backoffSeconds').map((s) => s * 1000),
  };
}

/**
 * Uploads `file` as `name` to every remote, each checked by reading it back (size and SHA-256),
 * retried on transient errors. Every remote is tried whatever happens to the others; the
 * result says which hold a good copy.
 */
export async function copyToRemotes(file: string, targets: RemoteTarget[], opts: CopyOptions): Promise<RemoteCopy[]> {
  const name = path.basename(file);
  const local = await digestFile(file);
  // The manifest goes too, so a remote copy can be checked (backups --check) without this host.
  const manifest = manifestPathOf(file);
  const manifestDigest = fs.existsSync(manifest) ? await digestFile(manifest) : null;
  const policy = remoteRetryPolicy(opts.config);
  const tries = opts.tries ?? policy.tries;
  const backoff = opts.backoffMs ?? policy.backoffMs;
  return Promise.all(
    targets.map(async (target): Promise<RemoteCopy> => {
      const base = { remote: target.url, name, bytes: local.bytes, sha256: local.sha256 };
      for (let attempt = 1; ; attempt++) {
        try {
          const remote = await openRemote(target, opts.config);
          try {
            await remote.upload(file, name);
            await checkRemoteCopy(remote, name, local);
            if (manifestDigest) {
              await remote.upload(manifest, path.basename(manifest));
              await checkRemoteCopy(remote, path.basename(manifest), manifestDigest);
            }
          } finally {
            await remote.close().catch(() => undefined);
          }
          opts.log(`copied ${name} to ${target.url} (size and SHA-256 checked)`);
          return { ...base, ok: true, attempts: attempt };
        } catch (err) {
          const why = errorMessage(err);
          if (err instanceof UsageError || attempt >= tries || !isTransientRemoteError(err) || opts.signal?.aborted) {
            opts.warn(`copy to ${target.url} failed after ${attempt} attempt(s): ${why}`);
            return { ...base, ok: false, attempts: attempt, error: why };
          }
          const wait = backoff[Math.min(attempt - 1, backoff.length - 1)] ?? 0;
          opts.log(`copy to ${target.url} failed (${why}); try ${attempt + 1} of ${tries} in ${wait / 1000} s`);
          await opts.sleep(wait, opts.signal).catch(() => undefined);
        }
      }
    }),
  );
}

export interface RemoteListing {
  remote: string;
  files: RemoteFile[];
  /** Set when the remote could not be listed (the listing is then empty). */
  error?: string;
}

/** The webjobs backups on each remote; one that cannot be reached says why instead of failing the rest. */
export async function listRemotes(targets: RemoteTarget[], config: Config): Promise<RemoteListing[]> {
  return Promise.all(
    targets.map(async (target) => {
      try {
        const remote = await openRemote(target, config);
        try {
          return { remote: target.url, files: await remote.list() };
        } finally {
          await remote.close().catch(() => undefined);
        }
      } catch (err) {
        if (err instanceof UsageError) throw err;
        return { remote: target.url, files: [], error: errorMessage(err) };
      }
    }),
  );
}
