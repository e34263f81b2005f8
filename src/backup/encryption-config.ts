import path from 'node:path';
import type { Config } from '../config/config.js';
import { UsageError } from '../util/errors.js';
import { readIdentityFile, recipientsOf } from './encrypt.js';
import { checkRecipients } from './recipient-check.js';

const RECIPIENTS = 'backup.encrypt.recipients' as const;
const IDENTITY_FILE = 'backup.encrypt.identityFile' as const;

export interface BackupEncryption {
  recipients: string[];
}

/**
 * The encryption config asks for (`backup.encrypt.recipients`), or null when it is absent.
 * Each key is checked here, without the age library (exit 2 before anything is read): an
 * empty list or a key that cannot be used is refused, never silently dropped (a plaintext
 * file where an encrypted one was configured). An identity file with no recipients beside it
 * on a backup host is refused for the same reason.
 */
export function encryptionFromConfig(config: Config): BackupEncryption | null {
  const listed = config.value(RECIPIENTS);
  if (listed === undefined) {
    if (config.value(IDENTITY_FILE) !== undefined)
      throw new UsageError(`config ${IDENTITY_FILE} is set but ${RECIPIENTS} is not: name the age recipients`);
    return null;
  }
  const recipients = listed.map((r) => r.trim());
  checkRecipients(recipients, `config ${RECIPIENTS}`);
  return { recipients };
}

/**
 * The age secret keys from `--identity FILE` (relative to the working directory), else from
 * config `backup.encrypt.identityFile` (relative to the config file), else none.
 */
export function identitiesFrom(config: Config, flag: string | undefined): string[] | undefined {
  if (flag) return readIdentityFile(path.resolve(process.cwd(), flag), '--identity');
  const file = config.value(IDENTITY_FILE);
  return file === undefined ? undefined : readIdentityFile(file, `config ${IDENTITY_FILE}`);
}

/** The secret keys `--verify` of an encrypted backup needs (exit 2 when none is given). */
export function identitiesForVerify(config: Config, flag: string | undefined): string[] {
  const identities = identitiesFrom(config, flag);
  if (!identities?.length)
    throw new UsageError(
      `--verify of an encrypted backup needs the secret key: pass --identity FILE or set ${IDENTITY_FILE}`,
    );
  return identities;
}

/**
 * Refuses, before the dump, a verification that could not open the file it is about to
 * write: an identity that matches none of the recipients (the age library derives its key).
 */
export async function checkIdentityOpens(enc: BackupEncryption, identities: readonly string[]): Promise<void> {
  const mine = new Set(await recipientsOf(identities));
  if (!enc.recipients.some((r) => mine.has(r)))
    throw new UsageError(`the identity given matches none of ${RECIPIENTS}: it could not decrypt the backup`);
}
