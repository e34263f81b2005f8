import crypto from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/**
 * The payload of an age file (age-encryption.org/v1, "STREAM"): the plaintext in 64 KiB
 * chunks, each sealed with ChaCha20-Poly1305 under a 12-byte nonce made of an 11-byte
 * big-endian chunk counter and a last-chunk flag byte. Only the last chunk may be short, and
 * it is empty only when the whole plaintext is.
 *
 * The age library (typage) does this in JavaScript at ~16 MB/s here; Node's OpenSSL cipher
 * does ~200 MB/s, so a backup's encryption costs a fraction of its compression. Header, key
 * wrapping and MAC stay with the library (encrypt.ts); the stock age CLI checks our output in
 * the tests, and we read files it wrote.
 */
export const CHUNK_BYTES = 64 * 1024;
const TAG_BYTES = 16;

/** The payload key: HKDF-SHA-256 of the file key, salted with the file's 16-byte nonce, info "payload". */
export function payloadKey(fileKey: Uint8Array, nonce: Uint8Array): Buffer {
  return Buffer.from(crypto.hkdfSync('sha256', fileKey, nonce, 'payload', 32));
}

function chunkNonce(counter: number, last: boolean): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.writeUIntBE(counter, 5, 6); // bytes 0–10 are the counter; 2^48 chunks is 16 EiB
  nonce[11] = last ? 1 : 0;
  return nonce;
}

/** Seals the plaintext written to it, chunk by chunk, into `sink` (synchronously, in order). */
export class AgePayloadEncrypter {
  private readonly buffer = Buffer.alloc(CHUNK_BYTES);
  private used = 0;
  private counter = 0;
  private ended = false;

  constructor(
    private readonly key: Buffer,
    private readonly sink: (chunk: Uint8Array) => void,
  ) {}

  write(data: Uint8Array): void {
    if (this.ended) throw new Error('age payload already ended');
    let off = 0;
    while (off < data.length) {
      // A full chunk is sealed only once more data comes: the last one must carry the flag.
      if (this.used === CHUNK_BYTES) this.seal(this.buffer, false);
      const n = Math.min(CHUNK_BYTES - this.used, data.length - off);
      this.buffer.set(data.subarray(off, off + n), this.used);
      this.used += n;
      off += n;
    }
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.seal(this.buffer.subarray(0, this.used), true);
  }

  private seal(plain: Buffer, last: boolean): void {
    const cipher = crypto.createCipheriv('chacha20-poly1305', this.key, chunkNonce(this.counter++, last), {
      authTagLength: TAG_BYTES,
    });
    this.sink(cipher.update(plain));
    cipher.final();
    this.sink(cipher.getAuthTag());
    this.used = 0;
  }
}

/** Opens an age payload as it streams through; a chunk that fails authentication fails the stream. */
export class AgePayloadDecrypter extends Transform {
  private readonly buffer = Buffer.alloc(CHUNK_BYTES + TAG_BYTES);
  private used = 0;
  private counter = 0;

  constructor(private readonly key: Buffer) {
    super();
  }

  override _transform(data: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      let off = 0;
      while (off < data.length) {
        if (this.used === this.buffer.length) this.push(this.open(this.buffer, false));
        const n = Math.min(this.buffer.length - this.used, data.length - off);
        data.copy(this.buffer, this.used, off, off + n);
        this.used += n;
        off += n;
      }
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      const first = this.counter === 0;
      const plain = this.open(this.buffer.subarray(0, this.used), true);
      if (!plain.length && !first) throw new Error('age file is damaged: its last chunk is empty');
      this.push(plain);
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  private open(sealed: Buffer, last: boolean): Buffer {
    if (sealed.length < TAG_BYTES) throw new Error('age file is truncated');
    const decipher = crypto.createDecipheriv('chacha20-poly1305', this.key, chunkNonce(this.counter++, last), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    const plain = decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES));
    try {
      decipher.final();
    } catch {
      throw new Error(`age file is damaged or truncated (chunk ${this.counter} fails authentication)`);
    }
    this.used = 0;
    return plain;
  }
}
