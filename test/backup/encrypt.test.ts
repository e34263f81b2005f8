import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AgeStreamWriter,
  ageEncoder,
  decryptFile,
  encrypterFor,
  isAgeFile,
  readIdentityFile,
} from '../../src/backup/encrypt.js';
import { checkRecipientsUsable } from '../../src/backup/encrypt.js';
import { openBackupSql } from '../../src/backup/open-backup.js';
import { checkRecipients } from '../../src/backup/recipient-check.js';
import { bech32 } from '@scure/base';
import { AtomicGzipFile } from '../../src/util/atomic-gzip.js';
import { UsageError } from '../../src/util/errors.js';
import { tempDir } from '../support/databases.js';
import { ageKey, type AgeKey } from './age-key.js';

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  return text;
}

/** A few MB of SQL-like text that compresses to several gzip members and many 64 KiB age chunks. */
function sqlText(lines: number): string {
  const out: string[] = [];
  for (let i = 0; i < lines; i++) out.push(`INSERT INTO t VALUES (${i}, 'row ${i} ${(i * 7919) % 104729}');`);
  return out.join('\n') + '\n';
}

describe('age encryption of backup files', () => {
  let work: string;
  let key: AgeKey;
  let other: AgeKey;
  beforeAll(() => {
    work = tempDir('webjobs-age-');
    key = ageKey(work, 'key.txt');
    other = ageKey(work, 'other.txt');
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('AtomicGzipFile through the age encoder: the stock age CLI decrypts it, gunzip reads the same text', async () => {
    const text = sqlText(60_000);
    const file = new AtomicGzipFile(work, 'backup_full_x.sql.gz.age', 6, {
      encode: ageEncoder([key.recipient, other.recipient]),
    });
    for (let i = 0; i < text.length; i += 100_000) await file.write(text.slice(i, i + 100_000));
    const final = await file.commit('backup_full_x.sql.gz.age');
    expect(path.basename(final)).toBe('backup_full_x.sql.gz.age');
    expect(isAgeFile(final)).toBe(true);
    expect(fs.readFileSync(final).includes('INSERT INTO')).toBe(false);
    for (const k of [key, other]) {
      const plain = execFileSync('sh', ['-c', 'age -d -i "$1" "$2" | gunzip', 'sh', k.file, final], {
        maxBuffer: 64 * 1024 * 1024,
      });
      expect(plain.toString()).toBe(text);
    }
    expect(await readAll(await openBackupSql(final, { identities: key.identities }))).toBe(text);
  });

  it('chunk edges: empty, one byte, exactly one and two 64 KiB chunks, one byte over — the age CLI agrees', async () => {
    for (const size of [0, 1, 65536, 131072, 65537]) {
      const data = Buffer.alloc(size);
      for (let i = 0; i < size; i++) data[i] = (i * 31) & 0xff;
      const parts: Uint8Array[] = [];
      const writer = new AgeStreamWriter([key.recipient], (c) => parts.push(Buffer.from(c)));
      for (let i = 0; i < size; i += 40_000) await writer.write(data.subarray(i, i + 40_000));
      await writer.end();
      const enc = path.join(work, `edge-${size}.age`);
      fs.writeFileSync(enc, Buffer.concat(parts));
      expect(execFileSync('age', ['-d', '-i', key.file, enc]).equals(data)).toBe(true);
      // And our reader opens what the CLI writes at the same size.
      const cli = path.join(work, `edge-${size}.cli.age`);
      execFileSync('age', ['-r', key.recipient, '-o', cli], { input: data });
      const chunks: Buffer[] = [];
      for await (const c of await decryptFile(cli, key.identities)) chunks.push(c as Buffer);
      expect(Buffer.concat(chunks).equals(data)).toBe(true);
    }
  });

  it('reads a file the age CLI encrypted (gzip | age -r), and refuses it without or with the wrong identity', async () => {
    const text = sqlText(5000);
    const gz = path.join(work, 'cli.sql.gz');
    fs.writeFileSync(gz, gzipSync(text));
    const enc = path.join(work, 'cli.sql.gz.age');
    execFileSync('age', ['-r', key.recipient, '-o', enc, gz]);
    expect(await readAll(await openBackupSql(enc, { identities: key.identities }))).toBe(text);
    await expect(openBackupSql(enc)).rejects.toThrow(/is encrypted: pass --identity/);
    await expect(openBackupSql(enc, { identities: other.identities })).rejects.toThrow(UsageError);
    // A plain gzip file still opens without any identity.
    expect(await readAll(await openBackupSql(gz))).toBe(text);
  });

  it('a flipped byte in the body fails the read (authenticated chunks), never a quiet short file', async () => {
    const text = sqlText(20_000);
    const enc = path.join(work, 'flip.sql.gz.age');
    const file = new AtomicGzipFile(work, 'flip.sql.gz.age', 6, {
      encode: ageEncoder([key.recipient]),
    });
    await file.write(text);
    await file.commit('flip.sql.gz.age');
    const bytes = fs.readFileSync(enc);
    const at = bytes.length - 100;
    bytes.writeUInt8(bytes.readUInt8(at) ^ 0x01, at);
    fs.writeFileSync(enc, bytes);
    const stream = await openBackupSql(enc, { identities: key.identities });
    await expect(readAll(stream)).rejects.toThrow();
  });

  it('recipients: a typo, an SSH key, an empty list are UsageErrors naming the entry', async () => {
    await expect(encrypterFor([key.recipient, 'age1qqqqqqqqqqqqqqqq'], 'config r')).rejects.toThrow(/config r\[1\]/);
    await expect(checkRecipientsUsable([key.recipient, 'age1qqqqqqqqqqqqqqqq'], 'config r')).rejects.toThrow(
      UsageError,
    );
    expect(() => checkRecipients(['ssh-ed25519 AAAAC3Nza'], 'config r')).toThrow(/SSH key/);
    expect(() => checkRecipients(['AGE-SECRET-KEY-1X'], 'config r')).toThrow(/not an age recipient/);
    expect(() => checkRecipients([], 'config r')).toThrow(/empty/);
    // Without the library: a broken checksum, and a well-formed key that is a low-order point.
    expect(() => checkRecipients([key.recipient, 'age1qqqqqqqqqqqqqqqq'], 'config r')).toThrow(
      /config r\[1\] is not a usable age recipient/,
    );
    const lowOrder = bech32.encodeFromBytes('age', new Uint8Array(32));
    expect(() => checkRecipients([lowOrder], 'config r')).toThrow(/low-order/);
    await expect(checkRecipientsUsable([lowOrder], 'config r')).rejects.toThrow(UsageError);
    expect(() => checkRecipients([key.recipient, ` ${other.recipient} `], 'config r')).not.toThrow();
    await expect(checkRecipientsUsable([key.recipient], 'config r')).resolves.toBeUndefined();
  });

  it('identity files: age-keygen output reads; a missing or foreign file is a UsageError', () => {
    expect(readIdentityFile(key.file, '--identity')).toEqual(key.identities);
    expect(() => readIdentityFile(path.join(work, 'nope'), '--identity')).toThrow(/cannot be read/);
    const bad = path.join(work, 'bad.txt');
    fs.writeFileSync(bad, '-----BEGIN OPENSSH PRIVATE KEY-----\n');
    expect(() => readIdentityFile(bad, '--identity')).toThrow(/not an age identity file/);
  });

  it('streams: 128 MB encrypted through the writer leaves memory flat (no copy of the input kept)', async () => {
    let out = 0;
    const writer = new AgeStreamWriter([key.recipient], (c) => (out += c.length));
    const block = Buffer.alloc(256 * 1024, 7);
    const before = process.memoryUsage().rss;
    let peak = before;
    for (let i = 0; i < 512; i++) {
      await writer.write(block);
      if (i % 32 === 0) peak = Math.max(peak, process.memoryUsage().rss);
    }
    await writer.end();
    expect(out).toBeGreaterThan(128 * 1024 * 1024);
    expect((peak - before) / 1024 / 1024).toBeLessThan(48);
  });

  it('a failing sink fails the writer (the backup fails, nothing hangs)', async () => {
    const writer = new AgeStreamWriter([key.recipient], () => {
      throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    });
    await expect(
      (async () => {
        for (let i = 0; i < 8; i++) await writer.write(Buffer.alloc(128 * 1024));
        await writer.end();
      })(),
    ).rejects.toThrow(/no space/);
  });
});
