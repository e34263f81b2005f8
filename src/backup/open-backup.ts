import fs from 'node:fs';
import { pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { UsageError } from '../util/errors.js';
import { decryptFile, isAgeFile } from './encrypt.js';

export interface OpenBackupOptions {
  /** age secret keys (AGE-SECRET-KEY-1…) for an encrypted backup. */
  identities?: readonly string[];
}

/**
 * The SQL text of a backup file, gunzipped (and decrypted first when the file is in the age
 * format), as one stream: an error anywhere in the chain (read, authentication, gzip CRC)
 * fails the returned stream, so a reader never ends quietly on a damaged file.
 */
export async function openBackupSql(file: string, opts: OpenBackupOptions = {}): Promise<Readable> {
  const encrypted = isAgeFile(file);
  let source: Readable;
  if (encrypted) {
    if (!opts.identities?.length)
      throw new UsageError(
        `backup file ${file} is encrypted: pass --identity FILE or set backup.encrypt.identityFile (an age key file)`,
      );
    try {
      source = await decryptFile(file, opts.identities);
    } catch (err) {
      throw new UsageError(
        `backup file ${file} cannot be decrypted with the given identity (${(err as Error).message})`,
      );
    }
  } else source = fs.createReadStream(file, { highWaterMark: 256 * 1024 });
  const gunzip = createGunzip();
  pipeline(source, gunzip, () => undefined); // errors reach `gunzip` (destroyed with them) and so its reader
  return gunzip;
}
