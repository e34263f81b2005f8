import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SETTING_DEFINITIONS } from '../../src/config/settings.js';
import { ENGINES, tempDir, type TestDatabase } from '../support/databases.js';
import { runCli } from '../support/cli.js';

interface Row {
  key: string;
  value: string;
  default: string | null;
  source: string;
  invalid?: string;
}

describe.each(ENGINES)('settings list|get|set on $engine', ({ create }) => {
  let t: TestDatabase;
  let work: string;
  beforeAll(async () => {
    t = await create();
    work = tempDir();
  });
  afterAll(async () => {
    await t?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });
  const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    runCli(args, { cwd: work, env: { DATABASE_URL: t.url, ...env } });
  const stored = async (key: string) =>
    (
      await t.db.queryOne<{ value: string }>(
        `SELECT ${t.db.quote('value')} AS value FROM settings WHERE ${t.db.quote('key')} = ?`,
        [key],
      )
    )?.value;

  it('list shows every seed key with its default before any table exists; set creates the table', async () => {
    const r = await cli(['settings', 'list', '--json']);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout).settings as Row[];
    expect(rows.map((x) => [x.key, x.value, x.source])).toEqual(
      SETTING_DEFINITIONS.map((d) => [d.key, d.default, 'default']),
    );
    expect(rows.find((x) => x.key === 'circuit-breaker-timeout-seconds')?.value).toBe('600');

    const set = await cli(['settings', 'set', 'circuit-breaker-failure-threshold', ' 3 ', '--json']);
    expect(set.code).toBe(0);
    expect(JSON.parse(set.stdout)).toEqual({ key: 'circuit-breaker-failure-threshold', value: '3', previous: null });
    expect(await stored('circuit-breaker-failure-threshold')).toBe('3');
    const after = JSON.parse((await cli(['settings', 'list', '--json'])).stdout).settings as Row[];
    expect(after.find((x) => x.key === 'circuit-breaker-failure-threshold')).toMatchObject({
      value: '3',
      default: '5',
      source: 'database',
    });
  });

  it('a bad value is exit 2 with one line, and changes nothing', async () => {
    for (const [key, value] of [
      ['circuit-breaker-failure-threshold', 'abc'],
      ['circuit-breaker-failure-threshold', '0'],
      ['circuit-breaker-failure-threshold', '2.5'],
      ['circuit-breaker-enabled', 'maybe'],
      ['no-such-setting', '1'],
    ] as const) {
      const r = await cli(['settings', 'set', key, value]);
      expect(r.code, `${key}=${value}`).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(await stored('circuit-breaker-failure-threshold')).toBe('3');
    expect(await stored('circuit-breaker-enabled')).toBeUndefined();
  });

  it("accepts seed 004's circuit-breaker-platforms: all, a comma list or a JSON list, normalized; refuses junk", async () => {
    const set = await cli(['settings', 'set', 'circuit-breaker-platforms', ' booking, ios ,booking', '--json']);
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ key: 'circuit-breaker-platforms', value: 'booking,ios' });
    expect(await stored('circuit-breaker-platforms')).toBe('booking,ios');
    expect((await cli(['settings', 'set', 'circuit-breaker-platforms', '["expedia","airbnb"]'])).code).toBe(0);
    expect(await stored('circuit-breaker-platforms')).toBe('expedia,airbnb');
    for (const bad of ['booking,,ios', 'two words', '["x", 1]', '[not json'] as const) {
      const r = await cli(['settings', 'set', 'circuit-breaker-platforms', bad]);
      expect(r.code, bad).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(await stored('circuit-breaker-platforms')).toBe('expedia,airbnb');
    expect((await cli(['settings', 'set', 'circuit-breaker-platforms', '*'])).code).toBe(0);
    expect(await stored('circuit-breaker-platforms')).toBe('all');
  });

  it('get prints the value alone; booleans are normalized; an unknown key is exit 2', async () => {
    expect((await cli(['settings', 'set', 'circuit-breaker-enabled', 'false'])).code).toBe(0);
    expect((await cli(['settings', 'get', 'circuit-breaker-enabled'])).stdout).toBe('0\n');
    expect((await cli(['settings', 'get', 'cache-warming-widget-count'])).stdout).toBe('10\n');
    const unknown = await cli(['settings', 'get', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown setting "nope"/);
  });

  it('config settings sit between the defaults and the table; a malformed stored value is flagged (exit 1)', async () => {
    const cfg = path.join(work, 'cfg.json');
    fs.writeFileSync(cfg, JSON.stringify({ settings: { 'cache-warming-widget-count': 25 } }));
    const r = await cli(['settings', 'get', 'cache-warming-widget-count', '--json', '--config', cfg]);
    expect(JSON.parse(r.stdout)).toMatchObject({ value: '25', source: 'config', default: '10' });
    await t.db.execute(`UPDATE settings SET ${t.db.quote('value')} = ? WHERE ${t.db.quote('key')} = ?`, [
      'lots',
      'circuit-breaker-failure-threshold',
    ]);
    const list = await cli(['settings', 'list']);
    expect(list.code).toBe(1);
    expect(list.stdout).toMatch(
      /circuit-breaker-failure-threshold\s+lots .*INVALID: setting circuit-breaker-failure-threshold must be a whole number/,
    );
  });
});
