import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSnapshot } from '../../src/db/dump/sqlite.js';
import { tableShape, tupleChunks } from '../../src/db/dump/sqlite-rows.js';
import { tempDir } from '../support/databases.js';

/**
 * The rowid ranges a SQLite table is read in. Every tuple here is 510 bytes, so after the first
 * chunk (1,000 rows, found by walking the b-tree) a chunk is 1,024 rows of ~512 KB: while the
 * rowids are dense the next range is worked out, and one that falls wholly in a gap must not end
 * the table.
 */
describe('SQLite rows in rowid-range chunks', () => {
  let dir: string;
  let file: string;
  const first = 100_000;
  const ids: number[] = [];

  beforeAll(() => {
    dir = tempDir();
    file = path.join(dir, 'chunks.sqlite');
    const raw = new Database(file);
    raw.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    const insert = raw.prepare("INSERT INTO t VALUES (?, printf('%-499s', 'row ' || ?))");
    // 4,072 dense rows (1,000 + 3 × 1,024: a chunk ends exactly at the last), a gap of 5,000, 2,000 more.
    for (let id = first; id < first + 4072; id++) ids.push(id);
    for (let id = first + 9072; id < first + 11_072; id++) ids.push(id);
    raw.transaction(() => ids.forEach((id) => insert.run(id, id)))();
    raw.close();
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads every row once, in order, past a worked-out range that falls in a gap', () => {
    const raw = openSnapshot(file);
    try {
      const chunks = [...tupleChunks(raw, 't', tableShape(raw, 't'), () => Buffer.from('-- prefix\n'))];
      expect(chunks.map((c) => c.rows)).toEqual([1000, 1024, 1024, 1024, 1024, 976]);
      for (const c of chunks) expect(c.bytes.subarray(0, c.prefixBytes).toString()).toBe('-- prefix\n');
      const read = chunks.flatMap((c) =>
        [
          ...c.bytes
            .subarray(c.prefixBytes)
            .toString()
            .matchAll(/^\((\d+),'row [\d.]+ *'\),?$/gm),
        ].map((m) => Number(m[1])),
      );
      expect(read).toEqual(ids);
    } finally {
      raw.exec('COMMIT');
      raw.close();
    }
  });
});
