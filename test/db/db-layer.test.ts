import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReferenceSchema, REFERENCE_TABLES } from '../../src/db/schema.js';
import { purgeInChunks } from '../../src/db/purge.js';
import { upsertSql } from '../../src/db/dialect.js';
import { ENGINES, type TestDatabase } from '../support/databases.js';

describe.each(ENGINES)('database layer on $engine', ({ create }) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await create();
    await createReferenceSchema(t.db);
  });
  afterAll(async () => t?.cleanup());

  it('creates every reference table and seeds the settings defaults', async () => {
    for (const spec of REFERENCE_TABLES) expect(await t.db.tableExists(spec.name), spec.name).toBe(true);
    const rows = await t.db.query<{ key: string; value: string }>(
      'SELECT `key`, value FROM settings ORDER BY `key`'.replace(/`/g, t.db.dialect === 'sqlite' ? '"' : '`'),
    );
    expect(rows.find((r) => r.key === 'cache-statistics-retention-days')?.value).toBe('30');
    expect(rows).toHaveLength(8);
    // Running it again changes nothing and does not fail.
    expect(await createReferenceSchema(t.db)).toEqual([]);
  });

  it('binds values, never splices them: a hostile string is stored as text', async () => {
    const hostile = "x'); DROP TABLE users; --";
    await t.db.execute(upsertSql(t.db, 'settings', ['key', 'value'], ['key']), ['hostile', hostile]);
    await t.db.execute(upsertSql(t.db, 'settings', ['key', 'value'], ['key']), ['hostile', hostile + '2']);
    const row = await t.db.queryOne<{ v: string }>(
      `SELECT ${t.db.quote('value')} AS v FROM settings WHERE ${t.db.quote('key')} = ?`,
      ['hostile'],
    );
    expect(row?.v).toBe(hostile + '2');
    expect(await t.db.tableExists('users')).toBe(true);
  });

  it('rolls a transaction back when it throws', async () => {
    await expect(
      t.db.transaction(async (tx) => {
        await tx.execute('INSERT INTO genres (name) VALUES (?)', ['rolled back']);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const row = await t.db.queryOne<{ n: number }>('SELECT COUNT(*) AS n FROM genres WHERE name = ?', ['rolled back']);
    expect(Number(row?.n)).toBe(0);
  });

  it('purges in chunks exactly the rows that match, and streams rows back', async () => {
    const values: unknown[] = [];
    for (let i = 1; i <= 1234; i++)
      values.push(`k${String(i).padStart(5, '0')}`, 'v', i % 3 === 0 ? '2020-01-01 00:00:00' : '2099-01-01 00:00:00');
    for (let i = 0; i < values.length; i += 300) {
      const batch = values.slice(i, i + 300);
      await t.db.execute(
        `INSERT INTO cache (${t.db.quote('key')}, ${t.db.quote('value')}, expires_at) VALUES ${Array.from({ length: batch.length / 3 }, () => '(?, ?, ?)').join(', ')}`,
        batch,
      );
    }
    const res = await purgeInChunks(t.db, {
      table: 'cache',
      keyColumn: 'key',
      where: 'expires_at < ?',
      params: ['2026-01-01 00:00:00'],
      chunkSize: 100,
    });
    expect(res.deleted).toBe(411);
    expect(res.chunks).toBe(5);
    let streamed = 0;
    for await (const row of t.db.stream<{ expires_at: string }>('SELECT expires_at FROM cache')) {
      expect(String(row.expires_at)).toContain('2099');
      streamed++;
    }
    expect(streamed).toBe(1234 - 411);
  });
});
