/**
 * A child process for migrate.test.ts: migrates one database at the same moment as a twin.
 * Usage: node --import tsx test/db/migrate-racer.ts <db-url> <real|slow>
 * `real` runs webjobs' own migrate(db); `slow` applies three test steps that each take 300 ms,
 * printing `ran <id>` when it runs one, so that two racers surely overlap.
 */
import fs from 'node:fs';
import { openDatabase } from '../../src/db/connect.js';
import { applyMigrations, migrate } from '../../src/db/migrate.js';
import type { Migration } from '../../src/db/migrations/index.js';

const [url, mode] = process.argv.slice(2);
const db = await openDatabase(url!, { busyTimeoutMs: 20_000 });
// Connected: wait for the go file so both processes start at the same moment.
process.stdout.write('ready\n');
const go = process.env.RACER_GO;
if (go) while (!fs.existsSync(go)) await new Promise((r) => setTimeout(r, 5));

const slowSteps: Migration[] = [1, 2, 3].map((id) => ({
  id,
  name: `slow-${id}`,
  async up(d) {
    process.stdout.write(`ran ${id}\n`);
    await new Promise((r) => setTimeout(r, 300));
    await d.execute(`CREATE TABLE IF NOT EXISTS race_${id} (x INT)`);
  },
}));

try {
  if (mode === 'real') await migrate(db);
  else await applyMigrations(db, slowSteps);
} finally {
  await db.close();
}
