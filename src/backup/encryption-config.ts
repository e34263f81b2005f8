import path from 'node:path';
import type { Config } from '../config/config.js';
import { UsageError } from '../util/errors.js';
import { checkRecipientList, checkRecipientsUsable, readIdentityFile, recipientsOf } from './encrypt.js';

const RECIPIENTS = 'backup.encrypt.recipients';
const IDENTITY_FILE = 'backup.encrypt.identityFile';

export interface BackupEncryption {
  recipients: string[];
}

/**
 * The encryption config `backup.encrypt` asks for, or null when it is absent. A section that is
 * present but names no usable recipient is a UsageError: encryption asked for is never
 * silently dropped (a plaintext file where an encrypted one was configured).
 */
export function encryptionFromConfig(config: Config): BackupEncryption | null {
  if (config.get('backup.encrypt') === undefined) return null;
  config.section('backup.encrypt');
  const recipients = config.stringList(RECIPIENTS, []).map((r) => r.trim());
  checkRecipientList(recipients, `config ${RECIPIENTS}`);
  return { recipients };
}

/**
 * Same as encryptionFromConfig, plus each key decoded and a trial encryption to it (a typo in
 * a key is caught here, at the start of the run, before any data is read).
 */
export async function usableEncryption(config: Config): Promise<BackupEncryption | null> {
  const enc = encryptionFromConfig(config);
  if (enc) await checkRecipientsUsable(enc.recipients, `config ${RECIPIENTS}`);
  return enc;
}

/**
 * The age secret keys from `--identity FILE` (relative to the working directory), else from
 * config `backup.encrypt.identityFile` (relative to the config file), else none.
 */
export function identitiesFrom(config: Config, flag: string | undefined): string[] | undefined {
  if (flag) return readIdentityFile(path.resolve(process.cwd(), flag), '--identity');
  if (config.string(IDENTITY_FILE) === undefined) return undefined;
  return readIdentityFile(config.path(IDENTITY_FILE, ''), `config ${IDENTITY_FILE}`);
}

/**
 * Refuses, before the dump, a verification that could not open the file it is about to
 * write: no identity, or one that matches none of the recipients.
 */
export async function checkIdentityOpens(enc: BackupEncryption, identities: string[] | undefined): Promise<void> {
  if (!identities?.length)
    throw new UsageError(
      `--verify of an encrypted backup needs the secret key: pass --identity FILE or set ${IDENTITY_FILE}`,
    );
  const mine = new Set(await recipientsOf(identities));
  if (!enc.recipients.some((r) => mine.has(r)))
    throw new UsageError(`the identity given matches none of ${RECIPIENTS}: it could not decrypt the backup`);
}
