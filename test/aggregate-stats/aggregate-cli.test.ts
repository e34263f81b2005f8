import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReferenceSchema } from '../../src/db/schema.js';
import { runCli } from '../support/cli.js';
import { ENGINES, tempDir, type TestDatabase } from '../support/databases.js';
import { createSiteFile, generateRequests, insertRequests } from './fixture.js';

describe.each(ENGINES)('aggregate-stats from the command line on $engine', ({ create }) => {
  let t: TestDatabase;
  let work: string;
  beforeAll(async () => {
    t = await create();
    work = tempDir();
    await createReferenceSchema(t.db);
    await insertRequests(t.db, generateRequests({ '2026-11-20': 40, '2026-11-21': 0, '2026-11-22': 30 }));
    await t.db.execute(
      "INSERT INTO websites (id, name, domain, status) VALUES (1, 'One', 'one.test', 'active'), (2, 'Two', 'two.test', 'active')",
    );
    fs.mkdirSync(path.join(work, 'databases'));
    createSiteFile(path.join(work, 'databases', 'website_1.sqlite'), { day: '2026-11-21', users: 3, blocs: [] });
  });
  afterAll(async () => {
    await t?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });
  const cli = (args: string[]) => runCli(args, { cwd: work, env: { DATABASE_URL: t.url } });

  it('bad dates and combinations are exit 2 with one line, before anything runs', async () => {
    for (const [args, message] of [
      [['--date', '2026-02-30'], /--date "2026-02-30" is not a calendar day/],
      [['--date', '2026-11-20', '--from', '2026-11-01'], /--date cannot be combined with --from\/--to/],
      [['--to', '2026-11-20'], /--to needs --from/],
      [['--from', '2026-11-22', '--to', '2026-11-20'], /--from 2026-11-22 is after --to 2026-11-20/],
      [['--chunk', '0'], /--chunk must be between 1 and 1000000/],
    ] as const) {
      const r = await cli(['aggregate-stats', ...args]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(await t.db.tableExists('webjobs_runs')).toBe(false);
  });

  it('a range with a site whose file is missing: the roll-up and the other site are done, exit 1, both named in the JSON', async () => {
    const r = await cli(['aggregate-stats', '--json', '--from', '2026-11-20', '--to', '2026-11-22', '--no-purge']);
    expect(r.code, r.stderr).toBe(1);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({
      job: 'aggregate-stats',
      status: 'failed',
      result: { daysRolledUp: 3, rowsRead: 70, websitesDone: 1, websitesFailed: 1 },
    });
    expect(s.error).toMatch(/2 \(Two\)/);
    expect(r.stderr).toMatch(/website 2 \(Two\) failed: database file .*databases\/website_2\.sqlite does not exist/);
    const one = await t.db.queryOne<{ d: string }>(
      "SELECT statistics_data AS d FROM website_statistics WHERE website_id = 1 AND date = '2026-11-21'",
    );
    expect(JSON.parse(String(one?.d))).toMatchObject({ total_users: 3, new_users_today: 1 });
  });

  it('a malformed retention setting is exit 2 naming the key', async () => {
    const q = t.db.dialect === 'mysql' ? '`key`' : '"key"';
    await t.db.execute(`UPDATE settings SET value = '-5' WHERE ${q} = 'cache-statistics-retention-days'`);
    const r = await cli(['aggregate-stats', '--no-websites']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cache-statistics-retention-days must be between 1 and 36500, got -5/);
    await t.db.execute(`UPDATE settings SET value = '30' WHERE ${q} = 'cache-statistics-retention-days'`);
  });
});
