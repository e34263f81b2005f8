import crypto from 'node:crypto';
import fs from 'node:fs';

export interface Digest {
  bytes: number;
  sha256: string;
}

/** SHA-256 (hex) and length of everything a stream yields, read as it comes (memory stays flat). */
export async function digestStream(stream: AsyncIterable<Uint8Array | string>): Promise<Digest> {
  const hash = crypto.createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    hash.update(buf);
    bytes += buf.length;
  }
  return { bytes, sha256: hash.digest('hex') };
}

export function digestFile(file: string): Promise<Digest> {
  return digestStream(fs.createReadStream(file, { highWaterMark: 1024 * 1024 }));
}
