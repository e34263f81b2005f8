import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createReferenceSchema } from '../../src/db/schema.js';
import mysql from 'mysql2/promise';
import { countMatching, orderIndexFor, purgeInChunks, purgeKeyFor, type PurgeResult } from '../../src/db/purge.js';
import { insertRows } from '../../src/demo/insert.js';
import { CancelledError } from '../../src/util/errors.js';
import { ENGINES, mariadbDatabase, mariadbServer, type TestDatabase } from '../support/databases.js';

/** The shared purge mechanism (cleanup-cache, aggregate-stats retention, cleanup-tokens). */
describe.each(ENGINES)('purgeInChunks on $engine', ({ create }) => {
  // ids 1..1000; every third row is old; the highest id (1000) is old too.
  const t = apiRequestsBeforeEach(create, (i) =>
    i % 3 === 0 || i === 1000 ? '2020-01-01 00:00:00' : '2026-11-24 00:00:00',
  );
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
    const res = await purgeInChunks(t.db, {
      ...spec,
      chunkSize: 64,
      targetStatementMs: 0.000001,
      onChunk: (p) => sizes.push(p.chunkSize),
    });
    expect(res.deleted).toBe(334);
    expect(sizes.slice(0, 7)).toEqual([32, 16, 8, 4, 2, 1, 1]);
    const fast = await purgeInChunks(t.db, { ...spec, chunkSize: 64, targetStatementMs: 1e9 });
    expect(fast.deleted).toBe(0);
  });

  it('stops between chunks when cancelled; committed chunks stay deleted', async () => {
    const ac = new AbortController();
    await expect(
      purgeInChunks(t.db, {
        ...spec,
        chunkSize: 100,
        signal: ac.signal,
        onChunk: (p) => p.chunks === 2 && ac.abort(new CancelledError('stop')),
      }),
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

/** Text keys whose collation order differs from JavaScript's ('B' sorts between 'a' and 'c' in the table). */
const CASE_KEYS = ['a', 'B', 'c', 'D', 'e', 'F', 'g', 'H', 'i', 'J', 'k', 'L', 'm', 'N', 'o', 'P', 'q', 'R', 's', 'T'];

describe.each(ENGINES)('purgeInChunks over a text key on $engine', ({ create }) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await create();
    await createReferenceSchema(t.db);
  });
  afterAll(async () => t?.cleanup());
  beforeEach(async () => {
    await t.db.execute('DELETE FROM cache');
    // Every key but every fourth expired; the highest key in the table's order ('T') expired too.
    await insertRows(
      t.db,
      'cache',
      ['key', 'value', 'expires_at'],
      (function* () {
        for (const [i, k] of CASE_KEYS.entries())
          yield [k, `v${i}`, i % 4 === 1 && k !== 'T' ? '2099-01-01 00:00:00' : '2020-01-01 00:00:00'];
      })(),
    );
  });
  const spec = { table: 'cache', keyColumn: 'key', where: '`expires_at` < ?', params: ['2021-01-01 00:00:00'] };
  const expired = () => countMatching(t.db, 'cache', spec.where, spec.params);
  const kept = async () =>
    (await t.db.query<{ key: string }>('SELECT `key` FROM cache ORDER BY `key`')).map((r) => r.key);

  it.each([1, 2, 3, 15, 50])(
    'chunks of %i delete exactly the matching rows, the highest key included, whatever the case of the keys',
    async (chunkSize) => {
      const res = await purgeInChunks(t.db, { ...spec, chunkSize });
      expect(res.readCommitted).toBe(t.db.dialect === 'mysql');
      expect(res.deleted).toBe(15);
      expect(res.chunks).toBe(Math.ceil(15 / chunkSize));
      expect(await expired()).toBe(0);
      expect(await kept()).toEqual(['B', 'F', 'J', 'N', 'R']);
    },
  );

  it('stops on the budget between chunks with the right count left, and the next run finishes', async () => {
    let clock = 0;
    const res = await purgeInChunks(t.db, {
      ...spec,
      chunkSize: 4,
      maxRuntimeMs: 25,
      now: () => clock,
      onChunk: () => (clock += 10),
    });
    expect(res.stoppedEarly).toBe('max-runtime');
    expect(res.chunks).toBe(3);
    expect(res.deleted).toBe(12);
    expect(res.remaining).toBe(3);
    expect(await expired()).toBe(3);
    const rest = await purgeInChunks(t.db, { ...spec, chunkSize: 4 });
    expect(rest.deleted).toBe(3);
    expect(await kept()).toEqual(['B', 'F', 'J', 'N', 'R']);
  });
});

describe('purgeInChunks on MariaDB: READ COMMITTED', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await mariadbDatabase();
    await createReferenceSchema(t.db);
  });
  afterAll(async () => t?.cleanup());
  beforeEach(async () => {
    await t.db.execute('DELETE FROM cache');
    await insertRows(
      t.db,
      'cache',
      ['key', 'value', 'expires_at'],
      (function* () {
        for (let i = 0; i < 500; i++)
          yield [`widget:${i}`, 'x', i % 3 === 0 ? '2099-01-01 00:00:00' : '2020-01-01 00:00:00'];
      })(),
    );
  });
  const spec = { table: 'cache', keyColumn: 'key', where: '`expires_at` < ?', params: ['2021-01-01 00:00:00'] };
  const withTimeout = <T>(p: Promise<T>, ms: number) =>
    Promise.race([
      p,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms)),
    ]);

  it('no gap locks: while a chunk waits for a row the app holds, the app still inserts into the range the chunk has passed', async () => {
    const server = mariadbServer();
    const other = await mysql.createConnection({
      host: '127.0.0.1',
      port: server.port,
      user: server.user,
      password: server.password,
      database: t.location,
    });
    let purge: Promise<PurgeResult> | undefined;
    try {
      await t.db.transaction(async (app) => {
        // An expired row near the end of the (single) chunk: its DELETE waits here until the app commits.
        await app.query("SELECT `key` FROM cache WHERE `key` = 'widget:98' FOR UPDATE");
        purge = purgeInChunks(t.db, { ...spec, chunkSize: 1000 });
        await new Promise((r) => setTimeout(r, 500));
        // A new live row whose key sorts inside the part of the range already scanned.
        await withTimeout(
          other.query(
            "INSERT INTO cache (`key`, value, expires_at) VALUES ('widget:1000x', 'new', '2099-01-01 00:00:00')",
          ),
          5000,
        );
      });
    } finally {
      other.destroy();
    }
    const res = await purge!;
    expect(res.readCommitted).toBe(true);
    expect(res.deleted).toBe(333);
    expect(await countMatching(t.db, 'cache', spec.where, spec.params)).toBe(0);
    expect(await t.db.query("SELECT value FROM cache WHERE `key` = 'widget:1000x'")).toEqual([{ value: 'new' }]);
  });

  it("inside the caller's transaction the DELETEs keep the caller's isolation level", async () => {
    const res = await t.db.transaction((tx) => purgeInChunks(tx, { ...spec, chunkSize: 100 }));
    expect(res.readCommitted).toBe(false);
    expect(res.deleted).toBe(333);
    expect(await countMatching(t.db, 'cache', spec.where, spec.params)).toBe(0);
  });

  it('the session goes back to the pool at the server default; readCommitted: false keeps it', async () => {
    const seen = new Set<string>();
    const res = await purgeInChunks(t.db, {
      ...spec,
      chunkSize: 60,
      onChunk: () => void t.db.queryOne<{ i: string }>('SELECT @@tx_isolation AS i').then((r) => seen.add(r!.i)),
    });
    expect(res.deleted).toBe(333);
    const after = await Promise.all(
      Array.from({ length: 6 }, () => t.db.queryOne<{ i: string }>('SELECT @@tx_isolation AS i')),
    );
    expect(new Set(after.map((r) => r!.i))).toEqual(new Set(['REPEATABLE-READ']));
    const off = await purgeInChunks(t.db, { ...spec, chunkSize: 60, readCommitted: false });
    expect(off.readCommitted).toBe(false);
  });
});

/**
 * Rows written late: an old created_at with a higher id than rows past the range (backfills,
 * imported logs, clock skew). Walked by (created_at, id), they go with their time range.
 */
describe.each(ENGINES)('purgeInChunks walked by a time column on $engine', ({ create }) => {
  // ids 1..1000: every third row old, and every row above 900 old (written late); the old
  // times repeat across ids (five distinct ones), so chunks end inside runs of equal times.
  const t = apiRequestsBeforeEach(create, (i) =>
    i % 3 === 0 || i > 900 ? `2020-01-0${1 + (i % 5)} 00:00:00` : '2026-11-24 00:00:00',
  );
  const OLD = 300 + 100; // the multiples of 3 up to 900, and 901..1000
  const spec = {
    table: 'api_requests',
    keyColumn: 'id',
    orderColumn: 'created_at',
    where: 'created_at >= ? AND created_at < ?',
    params: ['2019-01-01 00:00:00', '2021-01-01 00:00:00'],
  };
  const old = () => countMatching(t.db, 'api_requests', spec.where, spec.params);
  const all = () => countMatching(t.db, 'api_requests', '1 = 1');

  it('deletes every row of the range whatever its id, through the index on the time column', async () => {
    // A ceiling from "ids grow with time" (the first row past the range is id 1) no longer bounds the walk.
    const res = await purgeInChunks(t.db, { ...spec, chunkSize: 7, ceiling: 1 });
    expect(res.walkedBy).toBe(await orderIndexFor(t.db, 'api_requests', 'created_at'));
    expect(res.walkedBy).not.toBeNull();
    expect(res.deleted).toBe(OLD);
    expect(res.chunks).toBe(Math.ceil(OLD / 7));
    expect(await old()).toBe(0);
    expect(await all()).toBe(1000 - OLD);
  });

  it('keeps the budget: stops between chunks with the right count left; the next run finishes', async () => {
    let clock = 0;
    const res = await purgeInChunks(t.db, {
      ...spec,
      chunkSize: 50,
      maxRuntimeMs: 25,
      now: () => clock,
      onChunk: () => (clock += 10),
    });
    expect(res.stoppedEarly).toBe('max-runtime');
    expect(res.deleted).toBe(150);
    expect(res.remaining).toBe(OLD - 150);
    expect(await old()).toBe(OLD - 150);
    const rest = await purgeInChunks(t.db, { ...spec, chunkSize: 50 });
    expect(rest.deleted).toBe(OLD - 150);
    expect(await all()).toBe(1000 - OLD);
  });

  it('without an index on the time column: walks the whole key range (a caller ceiling ignored), still complete', async () => {
    const index = await orderIndexFor(t.db, 'api_requests', 'created_at');
    await t.db.execute(
      t.db.dialect === 'sqlite'
        ? `DROP INDEX ${t.db.quote(index!)}`
        : `DROP INDEX ${t.db.quote(index!)} ON api_requests`,
    );
    expect(await orderIndexFor(t.db, 'api_requests', 'created_at')).toBeNull();
    const res = await purgeInChunks(t.db, { ...spec, chunkSize: 40, ceiling: 1 });
    expect(res.walkedBy).toBeNull();
    expect(res.deleted).toBe(OLD);
    expect(await old()).toBe(0);
  });
});

/**
 * A database with the reference schema for the whole describe, whose api_requests is refilled
 * before each test with ids 1..1000 and the created_at the caller gives each id.
 */
function apiRequestsBeforeEach(
  create: () => Promise<TestDatabase>,
  createdAt: (id: number) => string,
): { readonly db: TestDatabase['db'] } {
  let t: TestDatabase | undefined;
  beforeAll(async () => {
    t = await create();
    await createReferenceSchema(t.db);
  });
  afterAll(async () => t?.cleanup());
  beforeEach(async () => {
    await t!.db.execute('DELETE FROM api_requests');
    await insertRows(
      t!.db,
      'api_requests',
      ['id', 'widget_id', 'status_code', 'response_time_ms', 'cache_hit', 'created_at'],
      (function* () {
        for (let i = 1; i <= 1000; i++) yield [i, 1, 200, 10, 0, createdAt(i)];
      })(),
    );
  });
  return {
    get db() {
      return t!.db;
    },
  };
}
