import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { ENGINES, tempDir, type TestDatabase } from '../support/databases.js';
import { demoDatabase } from '../support/fixtures.js';

type Misbehaviour = 'hang' | 'reset' | 'error-500' | 'slow-loris';
const BEHAVIOURS: Misbehaviour[] = ['hang', 'reset', 'error-500', 'slow-loris'];

/** A target where every widget misbehaves in one of the ways real servers do. */
function misbehavingServer(): { server: http.Server; sockets: Set<net.Socket>; hits: Map<Misbehaviour, number> } {
  const sockets = new Set<net.Socket>();
  const hits = new Map<Misbehaviour, number>();
  const server = http.createServer((req, res) => {
    const id = Number(req.url?.split('/').pop());
    const how = BEHAVIOURS[id % BEHAVIOURS.length] as Misbehaviour;
    hits.set(how, (hits.get(how) ?? 0) + 1);
    if (how === 'hang') return; // never answers
    if (how === 'reset') return req.socket.destroy();
    if (how === 'error-500') {
      res.statusCode = 500;
      return res.end('boom');
    }
    // slow-loris: a head at once, then one byte now and then, never an end
    res.writeHead(200, { 'content-type': 'text/plain' });
    const drip = setInterval(() => res.write('.'), 300);
    res.on('close', () => clearInterval(drip));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return { server, sockets, hits };
}

describe.each(ENGINES)('warm-cache against targets that hang, reset, fail and drip on $engine', ({ create }) => {
  let t: TestDatabase;
  let work: string;
  const target = misbehavingServer();
  beforeAll(async () => {
    t = await create();
    await demoDatabase(t.db, 3000);
    work = tempDir();
    await new Promise<void>((resolve) => target.server.listen(0, '127.0.0.1', resolve));
    const port = (target.server.address() as { port: number }).port;
    fs.writeFileSync(
      path.join(work, 'webjobs.config.json'),
      JSON.stringify({ warm: { urlTemplate: `http://127.0.0.1:${port}/widgets/{id}` } }),
    );
  });
  afterAll(async () => {
    for (const s of target.sockets) s.destroy();
    await new Promise((resolve) => target.server.close(resolve));
    await t?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('finishes within the request timeouts, counts no misbehaving answer as a success, exits 1 (nothing succeeded) with every widget accounted for', async () => {
    const t0 = Date.now();
    const r = await runCli(
      ['warm-cache', '--force', '--count', '16', '--concurrency', '4', '--timeout', '1', '--json'],
      { cwd: work, env: { DATABASE_URL: t.url, WEBJOBS_NOW: '2026-11-25T03:00:00Z' }, timeoutMs: 60_000 },
    );
    const seconds = (Date.now() - t0) / 1000;
    // 16 widgets, 4 at a time, each cut off after 1 s at worst: about 4 s of requests.
    expect(seconds).toBeLessThan(20);
    expect(r.code).toBe(1);
    const s = JSON.parse(r.stdout);
    expect(s.result.totals.ok).toBe(0);
    expect(s.result.widgets).toHaveLength(s.result.totals.widgets);
    expect(s.result.totals.failed + s.result.totals.skipped + s.result.totals.deferred).toBe(s.result.totals.widgets);
    expect(target.hits.size).toBeGreaterThanOrEqual(3);
  });
});
