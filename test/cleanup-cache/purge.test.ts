import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createReferenceSchema } from '../../src/db/schema.js';
import { countMatching, purgeInChunks, purgeKeyFor } from '../../src/db/purge.js';
import { insertRows } from '../../src/demo/insert.js';
import { CancelledError } from '../../src/util/errors.js';
import { ENGINES, type TestDatabase } from '../support/databases.js';

/** The shared purge mechanism (cleanup-cache, aggregate-stats retention, cleanup-tokens). */
describe.each(ENGINES)('purgeInChunks on $engine', ({ create }) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await create();
    await createReferenceSchema(t.db);
  });
  afterAll(async () => t?.cleanup());
  beforeEach(async () => {
    await t.db.execute('DELETE FROM api_requests');
    // ids 1..1000; every third row is old; the highest id (1000) is old too.
    await insertRows(t.db, 'api_requests', ['id', 'widget_id', 'status_code', 'response_time_ms', 'cache_hit', 'created_at'], (function* () {
      for (let i = 1; i <= 1000; i++) yield [i, 1, 200, 10, 0, i % 3 === 0 || i === 1000 ? '2020-01-01 00:00:00' : '2026-11-24 00:00:00'];
    })());
  });
  const spec = { table: 'api_requests', keyColumn: 'id', where: 'created_at < ?', params: ['2021-01-01 00:00:00'] };

  it('deletes every matching row, the highest key included, one chunk per transaction, reporting progress', async () => {
    const seen: number[] = [];
    const res = await purgeInChunks(t.db, { ...spec, chunkSize: 50, onChunk: (p) => seen.push(p.deleted) });
    expect(res.deleted).toBe(334);
    expect(res.chunks).toBe(Math.ceil(334 / 50));
    expect(seen.at(-1)).toBe(334);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(await countMatching(t.db, 'api_requests', spec.where, spec.params)).toBe(0);
    expect(await countMatching(t.db, 'api_requests', '1 = 1')).toBe(666);
    expect(res.stoppedEarly).toBeNull();
  });

  it('adapts the chunk to the statement target: slow deletes halve it, never above chunkSize', async () => {
    const sizes: number[] = [];
    const res = await purgeInChunks(t.db, { ...spec, chunkSize: 64, targetStatementMs: 0.000001, onChunk: (p) => sizes.push(p.chunkSize) });
    expect(res.deleted).toBe(334);
    expect(sizes.slice(0, 7)).toEqual([32, 16, 8, 4, 2, 1, 1]);
    const fast = await purgeInChunks(t.db, { ...spec, chunkSize: 64, targetStatementMs: 1e9 });
    expect(fast.deleted).toBe(0);
  });

  it('stops between chunks when cancelled; committed chunks stay deleted', async () => {
    const ac = new AbortController();
    await expect(
      purgeInChunks(t.db, { ...spec, chunkSize: 100, signal: ac.signal, onChunk: (p) => p.chunks === 2 && ac.abort(new CancelledError('stop')) }),
    ).rejects.toThrow('stop');
    expect(await countMatching(t.db, 'api_requests', spec.where, spec.params)).toBe(134);
  });

  it('waits while replicas lag more than --max-lag, then carries on', async () => {
    const lags = [9, null, 3, 0];
    const waits: Array<number | null> = [];
    let clock = 0;
    const res = await purgeInChunks(t.db, {
      ...spec,
      chunkSize: 400,
      maxLagSeconds: 2,
      replicaLag: async () => (lags.length ? lags.shift()! : 0),
      onLagWait: (l) => waits.push(l),
      now: () => clock,
      sleep: async (ms) => {
        clock += ms;
      },
    });
    expect(waits).toEqual([9, null, 3]);
    expect(res.lagWaitMs).toBe(3000);
    expect(res.deleted).toBe(334);
  });

  it('walks SQLite tables by rowid (with NOT INDEXED), MariaDB by the primary key', async () => {
    const k = await purgeKeyFor(t.db, 'cache', 'key');
    expect(k).toEqual(t.db.dialect === 'sqlite' ? { column: 'rowid', rowid: true } : { column: 'key', rowid: false });
  });
});
