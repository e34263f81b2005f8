import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { AtomicGzipFile } from '../../src/util/atomic-gzip.js';
import { tempDir } from '../support/databases.js';

/** Chunks of every size the writers send: a few bytes of DDL, ~512 KB dump chunks, more than a block. */
function chunks(count: number): Buffer[] {
  const sizes = [7, 300, 64 * 1024, 200 * 1024, 512 * 1024, 700 * 1024, 1];
  return Array.from({ length: count }, (_, i) => {
    const size = sizes[i % sizes.length] as number;
    // Half compressible text, half noise: blocks take different times to compress, so they finish out of order.
    return i % 2 === 0
      ? Buffer.from(`(${i},'row ${i}'),\n`.repeat(Math.ceil(size / 16)).slice(0, size))
      : randomBytes(size);
  });
}

describe('AtomicGzipFile', () => {
  let dir: string;
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it.each([1, 6, 9])(
    'at level %i writes every byte in order, however the blocks finish, as gzip that gunzip reads',
    async (level) => {
      dir = tempDir();
      const input = chunks(60);
      const file = new AtomicGzipFile(dir, 'backup_full_x.sql.gz', level);
      for (const c of input) await file.write(c);
      const written = await file.commit('backup_full_x.sql.gz');
      expect(path.basename(written)).toBe('backup_full_x.sql.gz');
      expect(fs.readdirSync(dir)).toEqual(['backup_full_x.sql.gz']);
      expect(fs.statSync(written).mode & 0o777).toBe(0o600);
      expect(gunzipSync(fs.readFileSync(written)).equals(Buffer.concat(input))).toBe(true);
      execFileSync('gzip', ['-t', written]);
    },
  );

  it('aborted half-way leaves nothing in the folder, even with blocks still compressing or queued', async () => {
    dir = tempDir();
    const file = new AtomicGzipFile(dir, 'backup_full_y.sql.gz', 9);
    for (const c of chunks(9)) await file.write(c);
    file.abort();
    await new Promise((r) => setTimeout(r, 300));
    expect(fs.readdirSync(dir)).toEqual([]);
    await expect(file.write(Buffer.from('more'))).rejects.toThrow(/aborted/);
  });
});
