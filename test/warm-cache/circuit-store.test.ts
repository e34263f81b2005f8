import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CircuitStore, describeTransition, type CircuitPolicy, type Transition } from '../../src/circuit/store.js';
import { openDatabase } from '../../src/db/connect.js';
import { ManualClock } from '../../src/util/clock.js';
import { ENGINES, type TestDatabase } from '../support/databases.js';

const POLICY: CircuitPolicy = { failureThreshold: 5, timeoutMs: 600_000, halfOpenRequests: 3, leaseMs: 15_000 };
const fail = { ok: false, error: 'HTTP 500' };

describe.each(ENGINES)('circuit store on $engine', ({ create }) => {
  let t: TestDatabase;
  let clock: ManualClock;
  let transitions: Transition[];
  let store: CircuitStore;
  beforeAll(async () => {
    t = await create();
  });
  afterAll(async () => {
    await t?.cleanup();
  });
  beforeEach(async () => {
    if (await t.db.tableExists('webjobs_circuits')) await t.db.execute('DELETE FROM webjobs_circuits');
    clock = new ManualClock('2026-11-25T06:00:00Z');
    transitions = [];
    store = new CircuitStore(t.db, clock, POLICY, (x) => transitions.push(x));
  });

  it('opens after the threshold of consecutive failures; a success in between starts the count again', async () => {
    for (let i = 0; i < 4; i++) await store.record('booking', fail, null);
    await store.record('booking', { ok: true }, null);
    for (let i = 0; i < 4; i++) await store.record('booking', fail, null);
    expect((await CircuitStore.get(t.db, 'booking'))?.state).toBe('closed');
    await store.record('booking', fail, null);
    const c = await CircuitStore.get(t.db, 'booking');
    expect(c).toMatchObject({
      state: 'open',
      failureCount: 5,
      totalRequests: 10,
      totalFailures: 9,
      openedAtMs: Date.parse('2026-11-25T06:00:00Z'),
    });
    expect(transitions.map(describeTransition)).toEqual([
      'circuit booking: closed -> open (5 consecutive failure(s), threshold 5 (last: HTTP 500))',
    ]);
  });

  it('an open circuit refuses requests until the timeout; reading it never moves the open time', async () => {
    for (let i = 0; i < 5; i++) await store.record('booking', fail, null);
    const opened = await CircuitStore.get(t.db, 'booking');
    clock.advance(599_000);
    const a = await store.admit('booking');
    expect(a).toMatchObject({ allowed: false, state: 'open', halfOpenAtMs: opened!.openedAtMs! + 600_000 });
    // A second process (a new store) reading it changes nothing either.
    const other = new CircuitStore(t.db, clock, POLICY);
    expect((await other.admit('booking')).allowed).toBe(false);
    const after = await CircuitStore.get(t.db, 'booking');
    expect(after?.openedAtMs).toBe(opened?.openedAtMs);
    expect(after?.version).toBe(opened?.version);
  });

  it('after the timeout: three trial slots, a fourth refused; an expired lease frees its slot; a success closes', async () => {
    for (let i = 0; i < 5; i++) await store.record('booking', fail, null);
    clock.advance(600_000);
    const leases = [];
    for (let i = 0; i < 3; i++) {
      const a = await store.admit('booking');
      expect(a).toMatchObject({ allowed: true, state: 'half_open' });
      leases.push(a.allowed ? a.lease : null);
    }
    expect(await store.admit('booking')).toMatchObject({ allowed: false, state: 'half_open' });
    expect(transitions.map((x) => `${x.from}->${x.to}`)).toEqual(['closed->open', 'open->half_open']);
    // A hung trial (or a dead process) holds its slot only until the lease expires.
    clock.advance(POLICY.leaseMs + 1);
    const again = await store.admit('booking');
    expect(again.allowed).toBe(true);
    await store.record('booking', { ok: true }, again.allowed ? again.lease : null);
    const c = await CircuitStore.get(t.db, 'booking');
    expect(c).toMatchObject({ state: 'closed', failureCount: 0, openedAtMs: null, leases: [] });
    expect(transitions.at(-1)).toMatchObject({ from: 'half_open', to: 'closed', why: 'trial request succeeded' });
    // The late answer of an expired trial counts, but does not re-open the closed circuit.
    await store.record('booking', fail, leases[0] ?? null);
    expect((await CircuitStore.get(t.db, 'booking'))?.state).toBe('closed');
  });

  it('a failed trial re-opens the circuit with a new open time', async () => {
    for (let i = 0; i < 5; i++) await store.record('booking', fail, null);
    clock.advance(700_000);
    const a = await store.admit('booking');
    await store.record('booking', { ok: false, error: 'timed out after 500 ms' }, a.allowed ? a.lease : null);
    const c = await CircuitStore.get(t.db, 'booking');
    expect(c?.state).toBe('open');
    expect(c?.openedAtMs).toBe(clock.now().getTime());
    expect(transitions.at(-1)?.why).toBe('trial request failed: timed out after 500 ms');
    expect((await store.admit('booking')).allowed).toBe(false);
  });

  it('reset closes one circuit or all', async () => {
    for (let i = 0; i < 5; i++) {
      await store.record('a', fail, null);
      await store.record('b', fail, null);
    }
    expect((await store.reset('a')).map((x) => x.platform)).toEqual(['a']);
    expect((await CircuitStore.get(t.db, 'a'))?.state).toBe('closed');
    expect((await CircuitStore.get(t.db, 'b'))?.state).toBe('open');
    expect((await store.reset()).map((x) => x.platform)).toEqual(['b']);
    expect((await CircuitStore.list(t.db)).map((c) => c.state)).toEqual(['closed', 'closed']);
  });

  it('two stores hammering one circuit at once lose no count and make one transition', async () => {
    // MariaDB: two connection pools racing on the version column. SQLite: one connection
    // (a second one in the same thread would block the event loop); two processes are tested in concurrent-processes.test.ts.
    const db2 = t.engine === 'mariadb' ? await openDatabase(t.url) : t.db;
    try {
      const seen: Transition[] = [];
      const s1 = new CircuitStore(t.db, clock, { ...POLICY, failureThreshold: 150 }, (x) => seen.push(x));
      const s2 = new CircuitStore(db2, clock, { ...POLICY, failureThreshold: 150 }, (x) => seen.push(x));
      const burst = (s: CircuitStore) => Promise.all(Array.from({ length: 100 }, () => s.record('shared', fail, null)));
      await Promise.all([burst(s1), burst(s2)]);
      const c = await CircuitStore.get(t.db, 'shared');
      expect(c).toMatchObject({ state: 'open', failureCount: 200, totalFailures: 200, totalRequests: 200 });
      expect(c!.version).toBeLessThanOrEqual(200);
      expect(seen.map((x) => `${x.from}->${x.to}`)).toEqual(['closed->open']);
    } finally {
      if (db2 !== t.db) await db2.close();
    }
  });
});
