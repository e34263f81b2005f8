import crypto from 'node:crypto';
import { bech32 } from '@scure/base';
import { UsageError } from '../util/errors.js';

/** The recipient kinds the age library encrypts to, by their bech32 prefix. */
const KNOWN_PREFIXES = new Set(['age', 'age1pq', 'age1tag', 'age1tagpq']);

/** DER of an X25519 SubjectPublicKeyInfo, before the 32 key bytes. */
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

/**
 * Checks each recipient without the age library (synchronously, so job resolution can refuse
 * it before connecting): a non-empty list of age keys whose bech32 checksum holds and, for
 * X25519 keys, a point that yields a shared secret (a low-order point would make every file
 * key readable by anyone, and age refuses it). Throws a UsageError naming the entry.
 */
export function checkRecipients(recipients: readonly string[], where: string): void {
  if (!recipients.length) throw new UsageError(`${where} is empty: name at least one age recipient (age1…)`);
  recipients.forEach((raw, i) => {
    const r = raw.trim();
    if (r.startsWith('ssh-'))
      throw new UsageError(
        `${where}[${i}] is an SSH key: the age library webjobs uses takes age keys only (age1…, made by age-keygen)`,
      );
    if (!r.startsWith('age1')) throw new UsageError(`${where}[${i}] is not an age recipient (age1…)`);
    const why = recipientProblem(r);
    if (why) throw new UsageError(`${where}[${i}] is not a usable age recipient (${why})`);
  });
}

function recipientProblem(recipient: string): string | null {
  let decoded: { prefix: string; bytes: Uint8Array };
  try {
    decoded = bech32.decodeToBytes(recipient, false);
  } catch (err) {
    return (err as Error).message;
  }
  const prefix = decoded.prefix.toLowerCase();
  if (!KNOWN_PREFIXES.has(prefix)) return `unknown key type ${prefix}`;
  if (prefix !== 'age') return null;
  if (decoded.bytes.length !== 32) return `an X25519 key is 32 bytes, this one ${decoded.bytes.length}`;
  return sharesSecret(decoded.bytes) ? null : 'a low-order X25519 point';
}

function sharesSecret(publicKey: Uint8Array): boolean {
  try {
    const peer = crypto.createPublicKey({
      key: Buffer.concat([X25519_SPKI_PREFIX, publicKey]),
      format: 'der',
      type: 'spki',
    });
    const mine = crypto.generateKeyPairSync('x25519').privateKey;
    return crypto.diffieHellman({ privateKey: mine, publicKey: peer }).some((b) => b !== 0);
  } catch {
    return false;
  }
}
