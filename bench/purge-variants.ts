/**
 * Ad-hoc comparison of purge variants on the cleanup-cache bench's data (a private MariaDB,
 * 1,000,000 cache rows, half expired over a random MD5 key): each variant starts from the same
 * fresh, settled copy. Times purgeInChunks alone (not the whole job) and prints what InnoDB's
 * purge of the deleted rows did within the run and how long the rest took after it.
 *   flock /tmp/bench.lock npx tsx bench/purge-variants.ts delete probe probe+rr probe+t70 probe+m12500 probe+hold
 * Variants: `delete` (one unbounded DELETE); `probe` (the shipped purge: READ COMMITTED);
 * flags `+rr` (REPEATABLE READ), `+t<ms>` (statement target, default 60), `+m<rows>` (most rows
 * per chunk, default 25,000), `+order` (walk by (expires_at, key) through the expires_at index:
 * PurgeSpec.orderColumn), `+hold` (an experiment, not a feature: another connection keeps a
 * read view open during the run, so InnoDB cannot purge the deleted rows until it ends).
 */
import os from 'node:os';
import mysql from 'mysql2/promise';
import { createReferenceSchema } from '../src/db/schema.js';
import { purgeInChunks, type PurgeSpec } from '../src/db/purge.js';
import { formatLocalDateTime } from '../src/util/time.js';
import { backlogWatch, benchDatabase, cacheFixture, timed } from './support.js';

const ROWS = Number(process.env.ROWS ?? 1_000_000);
const variants = process.argv.slice(2);
const b = await benchDatabase();
try {
  const { admin, db } = b;
  await createReferenceSchema(db);
  const backlog = await backlogWatch(admin);
  const nowLocal = formatLocalDateTime(new Date(), 'UTC');
  const { fresh, expired } = await cacheFixture(admin, ROWS, nowLocal);
  const backlogText = (x: { purgedInRun: number; drainMs: number }) =>
    `purged in run ${x.purgedInRun}, rest ${(x.drainMs / 1000).toFixed(2)} s after`;
  for (const v of variants) {
    await fresh();
    const rows = await expired();
    const load = os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join('/');
    await backlog.start();
    if (v === 'delete') {
      const r = await timed(() => admin.query('DELETE FROM cache WHERE expires_at < ?', [nowLocal]));
      console.log(
        `${v.padEnd(20)} ${(r.ms / 1000).toFixed(2)} s  ${backlogText(await backlog.settle(rows))}  left ${await expired()}  load ${load}`,
      );
      continue;
    }
    const flags = v.split('+').slice(1);
    const flag = (p: string) => flags.find((f) => f.startsWith(p) && /^\d+$/.test(f.slice(p.length)))?.slice(p.length);
    const durations: string[] = [];
    let last = performance.now();
    const spec: PurgeSpec = {
      table: 'cache',
      keyColumn: 'key',
      orderColumn: flags.includes('order') ? 'expires_at' : undefined,
      where: '`expires_at` < ?',
      params: [nowLocal],
      chunkSize: 5000,
      maxChunkSize: Number(flag('m') ?? 25_000),
      targetStatementMs: Number(flag('t') ?? 60),
      readCommitted: !flags.includes('rr'),
      onChunk: (p) => {
        const at = performance.now();
        if (at - last > 150) durations.push(`#${p.chunks}:${(at - last).toFixed(0)}ms`);
        last = at;
      },
    };
    let holder: mysql.Connection | null = null;
    if (flags.includes('hold')) {
      holder = await mysql.createConnection({
        host: '127.0.0.1',
        port: b.server.port,
        user: b.server.user,
        password: b.server.password,
        database: 'bench',
      });
      await holder.query('START TRANSACTION WITH CONSISTENT SNAPSHOT');
    }
    const r = await timed(() => purgeInChunks(db, spec));
    if (holder) {
      await holder.query('COMMIT');
      await holder.end();
    }
    const res = r.value;
    console.log(
      `${v.padEnd(20)} ${(r.ms / 1000).toFixed(2)} s  ${backlogText(await backlog.settle(res.deleted))}  chunks ${res.chunks}  longest ${res.longestStatementMs.toFixed(0)} ms  deleted ${res.deleted}  left ${await expired()}  load ${load}`,
    );
    console.log(
      `${''.padEnd(20)} chunks over 150 ms (chunk: time since the previous one): ${durations.join(' ') || 'none'}`,
    );
  }
} finally {
  await b.stop();
}
