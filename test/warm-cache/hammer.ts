/**
 * A child process for concurrent-processes.test.ts: records N failures of one platform
 * through the real CircuitStore (as a warm-cache run does), printing each transition it made.
 * Usage: node --import tsx test/warm-cache/hammer.ts <db-url> <platform> <failures> <threshold>
 */
import { CircuitStore, describeTransition } from '../../src/circuit/store.js';
import { openDatabase } from '../../src/db/connect.js';
import { systemClock } from '../../src/util/clock.js';

const [url, platform, failures, threshold] = process.argv.slice(2);
const db = await openDatabase(url!, { busyTimeoutMs: 20_000 });
const store = new CircuitStore(
  db,
  systemClock,
  { failureThreshold: Number(threshold), timeoutMs: 600_000, halfOpenRequests: 3, leaseMs: 15_000 },
  (t) => process.stdout.write(describeTransition(t) + '\n'),
);
// Wait for the go file so both processes start hammering at the same moment.
const go = process.env.HAMMER_GO;
if (go) {
  const fs = await import('node:fs');
  while (!fs.existsSync(go)) await new Promise((r) => setTimeout(r, 5));
}
await Promise.all(
  Array.from({ length: 4 }, async () => {
    for (let i = 0; i < Number(failures) / 4; i++)
      await store.record(platform!, { ok: false, error: 'HTTP 500' }, null);
  }),
);
await db.close();
process.stdout.write('done\n');
