import fs from 'node:fs';
import { PassThrough, pipeline, Readable } from 'node:stream';
import type { Encrypter } from 'age-encryption';
import { UsageError } from '../util/errors.js';
import { checkRecipients } from './recipient-check.js';
import { AgePayloadDecrypter, AgePayloadEncrypter, payloadKey } from './age-stream.js';

/** The first bytes of every file in the age format (age-encryption.org/v1). */
export const AGE_MAGIC = 'age-encryption.org/v1\n';

/**
 * The age library, loaded on first use: it (with its post-quantum code) costs a CLI start
 * ~50 ms that a run without encryption never needs.
 */
function ageLibrary(): Promise<typeof import('age-encryption')> {
  return import('age-encryption');
}

/**
 * An Encrypter for `recipients` (age public keys, `age1…`), or a UsageError naming the first
 * unusable one. The library checks each key's encoding and checksum as it is added, so a typo
 * in the config is caught before anything is read from the database.
 */
export async function encrypterFor(recipients: readonly string[], where: string): Promise<Encrypter> {
  checkRecipients(recipients, where);
  const encrypter = new (await ageLibrary()).Encrypter();
  recipients.forEach((r, i) => {
    const key = r.trim();
    try {
      encrypter.addRecipient(key);
    } catch (err) {
      throw new UsageError(`${where}[${i}] is not a usable age recipient (${(err as Error).message})`);
    }
  });
  return encrypter;
}

/**
 * Encrypts an empty file to every recipient: a key that decodes but is not a valid curve point
 * fails here, before the backup reads anything, rather than after the dump.
 */
export async function checkRecipientsUsable(recipients: readonly string[], where: string): Promise<void> {
  for (const [i, r] of recipients.entries()) {
    try {
      await (await encrypterFor([r], where)).encrypt(new Uint8Array(0));
    } catch (err) {
      if (err instanceof UsageError) throw err;
      throw new UsageError(`${where}[${i}] is not a usable age recipient (${(err as Error).message})`);
    }
  }
}

/**
 * The secret keys (`AGE-SECRET-KEY-1…`) in an age identity file as age-keygen writes it
 * (comments and blank lines skipped), or a UsageError: missing, unreadable, no key.
 */
export function readIdentityFile(file: string, where: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${where} ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const keys = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const bad = keys.find((k) => !k.startsWith('AGE-SECRET-KEY-'));
  if (bad !== undefined || !keys.length)
    throw new UsageError(`${where} ${file} is not an age identity file (one AGE-SECRET-KEY-1… per line)`);
  return keys;
}

/** The public keys (age1…) of `identities`, to check before a long run that one can open what is written. */
export async function recipientsOf(identities: readonly string[]): Promise<string[]> {
  const { identityToRecipient } = await ageLibrary();
  return Promise.all(identities.map((id) => identityToRecipient(id)));
}

/** True when `file` starts with the age header (read from its first bytes only). */
export function isAgeFile(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(AGE_MAGIC.length);
    const n = fs.readSync(fd, head, 0, head.length, 0);
    return n === head.length && head.toString('latin1') === AGE_MAGIC;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The age header (recipient stanzas and MAC, then the 16-byte payload nonce) for a new file,
 * and the key its payload is encrypted with. The library builds the header and wraps the file
 * key for each recipient; a recipient of our own that adds no stanza lets us see the file key,
 * so the bulk of the file can go through Node's native ChaCha20-Poly1305 (see age-stream.ts).
 */
export async function newAgeFile(recipients: readonly string[]): Promise<{ head: Buffer; key: Buffer }> {
  const encrypter = await encrypterFor(recipients, 'recipients');
  let fileKey: Uint8Array | null = null;
  encrypter.addRecipient({
    wrapFileKey(key) {
      fileKey = key;
      return [];
    },
  });
  // An empty payload is one empty final chunk: its 16-byte tag follows the header and nonce.
  const empty = await encrypter.encrypt(new Uint8Array(0));
  if (!fileKey) throw new Error('age library did not hand over the file key');
  const head = Buffer.from(empty.subarray(0, empty.length - 16));
  return { head, key: payloadKey(fileKey, head.subarray(head.length - 16)) };
}

/**
 * Encrypts a byte stream in the age format as it is written: header first, then each 64 KiB
 * chunk as soon as it is full, so nothing but one chunk is held in memory.
 */
export class AgeStreamWriter {
  private readonly started: Promise<AgePayloadEncrypter>;
  private payload: AgePayloadEncrypter | null = null;
  private aborted = false;

  constructor(recipients: readonly string[], sink: (chunk: Uint8Array) => void) {
    this.started = newAgeFile(recipients).then(({ head, key }) => {
      sink(head);
      return (this.payload = new AgePayloadEncrypter(key, sink));
    });
    this.started.catch(() => undefined); // surfaces on the first write
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.aborted) throw new Error('encryption aborted');
    (this.payload ?? (await this.started)).write(chunk);
  }

  /** Encrypts the last chunk (flagged as last, as age requires). */
  async end(): Promise<void> {
    if (this.aborted) throw new Error('encryption aborted');
    (this.payload ?? (await this.started)).end();
  }

  abort(): void {
    this.aborted = true;
  }
}

/** An encoder for AtomicGzipFile: the gzip members go through age encryption to `recipients`. */
export function ageEncoder(
  recipients: readonly string[],
): (writeToFile: (chunk: Uint8Array) => void) => AgeStreamWriter {
  return (writeToFile) => new AgeStreamWriter(recipients, writeToFile);
}

/** Where the age header (up to and including the MAC line) ends in `head`, or -1 when not within it. */
function headerEnd(head: Buffer): number {
  const mac = head.indexOf('\n--- ');
  if (mac < 0) return -1;
  const eol = head.indexOf('\n', mac + 1);
  return eol < 0 ? -1 : eol + 1;
}

/**
 * The plaintext of an age-encrypted file, decrypted as it is read. The header (MAC and
 * recipient stanzas) is checked by the library before this resolves: no matching identity
 * rejects here. Each 64 KiB chunk is authenticated before it is passed on, so a damaged or
 * truncated body fails the returned stream, never yielding unchecked bytes.
 */
export async function decryptFile(file: string, identities: readonly string[]): Promise<Readable> {
  const fd = fs.openSync(file, 'r');
  let head: Buffer;
  try {
    head = Buffer.alloc(64 * 1024);
    head = head.subarray(0, fs.readSync(fd, head, 0, head.length, 0));
  } finally {
    fs.closeSync(fd);
  }
  const end = headerEnd(head);
  if (end < 0 || head.length < end + 16) throw new Error('not an age file, or its header is damaged');
  const decrypter = new (await ageLibrary()).Decrypter();
  for (const id of identities) decrypter.addIdentity(id);
  const fileKey = await decrypter.decryptHeader(head.subarray(0, end));
  const key = payloadKey(fileKey, head.subarray(end, end + 16));
  const plain = new AgePayloadDecrypter(key);
  pipeline(fs.createReadStream(file, { start: end + 16, highWaterMark: 256 * 1024 }), plain, () => undefined);
  return plain;
}

/**
 * A pipeline step that decrypts an age stream from any source (a remote copy as it downloads):
 * the header is gathered from the first chunks and checked by the library, then each payload
 * chunk is authenticated before its plaintext is passed on.
 */
export function decryptingStep(
  identities: readonly string[],
): (source: AsyncIterable<Buffer>) => AsyncGenerator<Buffer> {
  return async function* (source) {
    const input = source[Symbol.asyncIterator]();
    let head = Buffer.alloc(0);
    let end = headerEnd(head);
    while (end < 0 || head.length < end + 16) {
      const next = head.length <= 64 * 1024 ? await input.next() : { done: true as const, value: undefined };
      if (next.done) throw new Error('not an age file, or its header is damaged');
      head = Buffer.concat([head, next.value]);
      end = headerEnd(head);
    }
    const decrypter = new (await ageLibrary()).Decrypter();
    for (const id of identities) decrypter.addIdentity(id);
    const fileKey = await decrypter.decryptHeader(head.subarray(0, end));
    const plain = new AgePayloadDecrypter(payloadKey(fileKey, head.subarray(end, end + 16)));
    const rest = async function* () {
      yield head.subarray(end + 16);
      for (let next = await input.next(); !next.done; next = await input.next()) yield next.value;
    };
    const out = new PassThrough();
    pipeline(Readable.from(rest()), plain, out, (err) => err && out.destroy(err));
    yield* out;
  };
}
