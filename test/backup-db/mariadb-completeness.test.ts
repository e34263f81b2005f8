import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupDbJob, type BackupResult } from '../../src/jobs/backup-db/index.js';
import { runJob } from '../../src/runner/runner.js';
import { runCli } from '../support/cli.js';
import { mariadbDatabase, mariadbServer, tempDir, type TestDatabase } from '../support/databases.js';
import { testEnvironment } from '../support/environment.js';

/** Objects beyond tables, views and triggers, each restored by the stock client and compared. */
const FIXTURE = [
  'CREATE SEQUENCE seq_cached START WITH 100 INCREMENT BY 5',
  'CREATE SEQUENCE seq_nocache NOCACHE',
  'CREATE TABLE orders (id INT PRIMARY KEY DEFAULT (NEXT VALUE FOR seq_nocache), amount INT NOT NULL)',
  'CREATE FUNCTION doubled(n INT) RETURNS INT DETERMINISTIC RETURN n * 2',
  `CREATE PROCEDURE add_order(IN a INT)
BEGIN
  INSERT INTO orders (amount) VALUES (a); -- a semicolon inside the body
END`,
  'CREATE VIEW doubled_orders AS SELECT id, doubled(amount) AS twice FROM orders',
  "CREATE EVENT nightly ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 03:00:00' DO DELETE FROM orders WHERE amount < 0",
  'CREATE TABLE prices (id INT PRIMARY KEY, price INT NOT NULL) WITH SYSTEM VERSIONING',
  `CREATE TABLE stock (id INT PRIMARY KEY, qty INT NOT NULL,
  valid_from TIMESTAMP(6) GENERATED ALWAYS AS ROW START, valid_to TIMESTAMP(6) GENERATED ALWAYS AS ROW END,
  PERIOD FOR SYSTEM_TIME(valid_from, valid_to)) WITH SYSTEM VERSIONING`,
  'CREATE TABLE legacy_myisam (id INT PRIMARY KEY, v VARCHAR(10)) ENGINE=MyISAM',
  'CREATE TABLE legacy_aria (id INT PRIMARY KEY, v VARCHAR(10)) ENGINE=Aria',
  'CREATE TABLE scratch_mem (id INT PRIMARY KEY) ENGINE=MEMORY',
];

async function connect(database: string): Promise<mysql.Connection> {
  const s = mariadbServer();
  return mysql.createConnection({
    host: '127.0.0.1',
    port: s.port,
    user: s.user,
    password: s.password,
    database,
    charset: 'utf8mb4',
    dateStrings: true,
  });
}

function restoreWithClient(database: string, file: string): void {
  const s = mariadbServer();
  execFileSync(
    'sh',
    ['-c', 'gunzip -c "$1" | mariadb -h 127.0.0.1 -P "$2" -u "$3" "$4"', 'sh', file, String(s.port), s.user, database],
    { env: { ...process.env, MYSQL_PWD: s.password }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

async function rows(c: mysql.Connection, sql: string): Promise<unknown[]> {
  const [r] = await c.query({ sql, rowsAsArray: true });
  return r as unknown[];
}

async function backup(src: TestDatabase, dir: string, type: 'full' | 'critical', config: object = {}) {
  const env = testEnvironment({ db: src.db, url: src.url, config: { backup: { dir, ...config } } });
  const summary = await runJob(backupDbJob, { type, verify: true }, env, { dryRun: false, args: {} });
  return { summary, result: summary.result as BackupResult, logs: env.logs() };
}

describe('backup-db on MariaDB: a full backup holds every object, and says what it cannot hold', () => {
  let src: TestDatabase;
  let work: string;
  let file: string;
  let result: BackupResult;
  let warnings: string[];
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    src = await mariadbDatabase('cmp');
    work = tempDir();
    const c = await connect(src.location);
    for (const s of FIXTURE) await c.query(s);
    await c.query('CALL add_order(21)');
    await c.query('CALL add_order(5)');
    for (let i = 0; i < 3; i++) await c.query('SELECT NEXTVAL(seq_cached)');
    await c.query('INSERT INTO prices VALUES (1, 10), (2, 20)');
    await c.query('UPDATE prices SET price = 11 WHERE id = 1');
    await c.query('DELETE FROM prices WHERE id = 2');
    await c.query('INSERT INTO stock (id, qty) VALUES (1, 5)');
    await c.query('UPDATE stock SET qty = 4 WHERE id = 1');
    await c.query("INSERT INTO legacy_myisam VALUES (1, 'm')");
    await c.query("INSERT INTO legacy_aria VALUES (1, 'a')");
    await c.end();
    const run = await backup(src, path.join(work, 'out'), 'full');
    expect(run.summary.error).toBeUndefined();
    expect(run.summary.status).toBe('succeeded');
    result = run.result;
    file = result.file as string;
    warnings = run.summary.warnings ?? [];
  }, 120_000);

  afterAll(async () => {
    for (const c of cleanups) await c();
    await src?.cleanup();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  async function restored(): Promise<{ db: TestDatabase; c: mysql.Connection }> {
    const db = await mariadbDatabase('cmpdst');
    restoreWithClient(db.location, file);
    const c = await connect(db.location);
    cleanups.push(async () => {
      await c.end();
      await db.cleanup();
    });
    return { db, c };
  }

  it('lists routines, events, sequences, and takes system-versioned tables', () => {
    expect(result.routines).toEqual(['function doubled', 'procedure add_order']);
    expect(result.events).toEqual(['nightly']);
    expect(result.sequences).toEqual(['seq_cached', 'seq_nocache']);
    expect(result.tables).toEqual(['legacy_aria', 'legacy_myisam', 'orders', 'prices', 'scratch_mem', 'stock']);
    expect(result.verified?.ok).toBe(true);
    const sql = gunzipSync(fs.readFileSync(file)).toString('utf8');
    expect(sql).not.toMatch(/DEFINER=/);
  });

  it('warns about each table the snapshot does not cover', () => {
    for (const t of ['legacy_myisam', 'legacy_aria', 'scratch_mem'])
      expect(warnings.some((w) => w.includes(`table ${t} uses the`))).toBe(true);
    expect(warnings.some((w) => w.includes('orders'))).toBe(false);
  });

  it('restores with the stock client: routines run, the view calls the function, the event is scheduled', async () => {
    const { c } = await restored();
    expect(await rows(c, 'SELECT id, twice FROM doubled_orders ORDER BY id')).toEqual([
      [1, 42],
      [2, 10],
    ]);
    await c.query('CALL add_order(7)');
    expect(await rows(c, 'SELECT id, amount FROM orders WHERE amount = 7')).toEqual([[3, 7]]);
    expect(
      await rows(
        c,
        'SELECT EVENT_NAME, INTERVAL_VALUE, INTERVAL_FIELD, STARTS, EVENT_DEFINITION FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE()',
      ),
    ).toEqual([['nightly', '1', 'DAY', '2030-01-01 03:00:00', 'DELETE FROM orders WHERE amount < 0']]);
    expect(
      await rows(
        c,
        "SELECT ROUTINE_DEFINITION FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE() AND ROUTINE_NAME = 'doubled'",
      ),
    ).toEqual([['RETURN n * 2']]);
  });

  it('restores sequences at their next value: never a value the original handed out', async () => {
    const { c } = await restored();
    // NOCACHE: exactly the original's next value. Cached: past every value the original may have handed out.
    expect(await rows(c, 'SELECT NEXTVAL(seq_nocache)')).toEqual([[3]]);
    const next = ((await rows(c, 'SELECT NEXTVAL(seq_cached)')) as number[][])[0]?.[0];
    expect(Number(next)).toBeGreaterThan(110);
  });

  it('restores system-versioned tables with their history', async () => {
    const src2 = await connect(src.location);
    const { c } = await restored();
    try {
      for (const q of [
        'SELECT id, price, ROW_START, ROW_END FROM prices FOR SYSTEM_TIME ALL ORDER BY id, ROW_END',
        'SELECT id, price FROM prices ORDER BY id',
        'SELECT id, qty, valid_from, valid_to FROM stock FOR SYSTEM_TIME ALL ORDER BY id, valid_to',
      ]) {
        const original = await rows(src2, q);
        expect(original.length).toBeGreaterThan(0);
        expect(await rows(c, q)).toEqual(original);
      }
      expect(await rows(c, 'SELECT COUNT(*) FROM prices FOR SYSTEM_TIME ALL')).toEqual([[3]]);
    } finally {
      await src2.end();
    }
  });
});

describe('backup-db on MariaDB: what a backup refuses or works around', () => {
  let src: TestDatabase;
  let work: string;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    src = await mariadbDatabase('edge');
    work = tempDir();
  });

  afterAll(async () => {
    for (const c of cleanups) await c();
    await src?.cleanup();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('backup.critical naming a view or a sequence: exit 2 with one clear line, nothing written', async () => {
    const c = await connect(src.location);
    await c.query('CREATE TABLE users (id INT PRIMARY KEY)');
    await c.query('CREATE VIEW active_users AS SELECT id FROM users');
    await c.query('CREATE SEQUENCE ids');
    await c.end();
    for (const [name, what] of [
      ['active_users', 'a view'],
      ['ids', 'a sequence'],
    ]) {
      fs.writeFileSync(path.join(work, 'c.json'), JSON.stringify({ backup: { critical: ['users', name] } }));
      const out = path.join(work, `out-${name}`);
      const r = await runCli(['backup-db', '--config', 'c.json', '--out', out], {
        cwd: work,
        env: { DATABASE_URL: src.url },
      });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`config backup.critical names ${name}, which is ${what}: list tables only`);
      expect(fs.existsSync(out) ? fs.readdirSync(out) : []).toEqual([]);
    }
  });

  it('a row too large for one packet of the stock client is split into INSERT + UPDATE … CONCAT and restores identically', async () => {
    const c = await connect(src.location);
    await c.query(
      'CREATE TABLE docs (id INT PRIMARY KEY, title VARCHAR(20), body LONGTEXT, data LONGBLOB, meta JSON) DEFAULT CHARSET=utf8mb4',
    );
    // Over 16 MiB as SQL (hex doubles the blob); the text has a character across the first cut (at 512 KiB, half the
    // default statement size), which must not be split.
    const blob = randomBytes(8.5 * 1024 * 1024);
    const text = 'a'.repeat(512 * 1024 - 1) + '✓' + "ünïcødé 'quoted' \\ back\n".repeat(40_000);
    const json = JSON.stringify({ items: Array.from({ length: 80_000 }, (_, i) => `item-${i}-é`) });
    await c.query('INSERT INTO docs VALUES (1, ?, ?, ?, ?), (2, ?, ?, ?, ?)', [
      'big',
      text,
      blob,
      json,
      'small',
      'tiny',
      Buffer.from([1, 2, 3]),
      '{}',
    ]);
    await c.end();
    const run = await backup(src, path.join(work, 'big'), 'critical', { critical: ['docs'] });
    expect(run.summary.error).toBeUndefined();
    expect(run.result.verified?.ok).toBe(true);
    const sql = gunzipSync(fs.readFileSync(run.result.file as string));
    expect(sql.length).toBeGreaterThan(16 * 1024 * 1024);
    for (const statement of sql.toString('latin1').split(';\n'))
      expect(statement.length).toBeLessThan(16 * 1024 * 1024);
    expect(sql.toString('latin1')).toContain('UPDATE `docs` SET `data` = CONCAT(`data`, 0x');
    const dst = await mariadbDatabase('bigdst');
    cleanups.push(() => dst.cleanup());
    restoreWithClient(dst.location, run.result.file as string);
    const a = await connect(src.location);
    const b = await connect(dst.location);
    try {
      const q =
        'SELECT id, title, SHA2(body, 256), SHA2(data, 256), SHA2(meta, 256), LENGTH(body) FROM docs ORDER BY id';
      expect(await rows(b, q)).toEqual(await rows(a, q));
    } finally {
      await a.end();
      await b.end();
    }
  }, 180_000);

  it('a row too large for one packet in a table without a key: the backup fails naming the table, nothing written', async () => {
    const c = await connect(src.location);
    await c.query('CREATE TABLE keyless (data LONGBLOB)');
    await c.query('INSERT INTO keyless VALUES (?)', [randomBytes(9 * 1024 * 1024)]);
    await c.end();
    const out = path.join(work, 'keyless');
    const run = await backup(src, out, 'critical', { critical: ['keyless'] });
    expect(run.summary.status).toBe('failed');
    expect(run.summary.error).toMatch(/table keyless: a row is too large for one INSERT .* no key to split it by/);
    expect(fs.readdirSync(out).filter((f) => !f.startsWith('.'))).toEqual([]);
  }, 120_000);
});

describe('backup-db on MariaDB: a table changed under the snapshot (error 1412)', () => {
  let src: TestDatabase;
  let work: string;

  beforeAll(async () => {
    src = await mariadbDatabase('chg');
    work = tempDir();
    const c = await connect(src.location);
    await c.query('CREATE TABLE aaa_big (id INT PRIMARY KEY, payload VARCHAR(200) NOT NULL)');
    await c.query('CREATE TABLE zzz_victim (id INT PRIMARY KEY, v INT NOT NULL)');
    await c.query('INSERT INTO zzz_victim VALUES (1, 1), (2, 2)');
    // Enough rows that the dump is still reading aaa_big when the watcher acts.
    await c.query("INSERT INTO aaa_big SELECT seq, REPEAT(CONCAT('row ', seq, ' '), 12) FROM seq_1_to_200000");
    await c.end();
  }, 120_000);

  afterAll(async () => {
    await src?.cleanup();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  /** Truncates zzz_victim each time the dump is seen reading aaa_big (at most `times` times), on another connection. */
  function truncateWhileDumping(times: number): { stop: () => Promise<number> } {
    let done = 0;
    let running = true;
    const loop = (async () => {
      const c = await connect(src.location);
      let seen = false;
      try {
        while (running && done < times) {
          const list = await rows(
            c,
            "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT%FROM `aaa_big`%' AND ID <> CONNECTION_ID()",
          );
          if (list.length && !seen) {
            await c.query('TRUNCATE TABLE zzz_victim');
            await c.query('INSERT INTO zzz_victim VALUES (3, 3)');
            done++;
          }
          seen = list.length > 0;
          await new Promise((r) => setTimeout(r, 5));
        }
      } finally {
        await c.end();
      }
    })();
    return {
      stop: async () => {
        running = false;
        await loop;
        return done;
      },
    };
  }

  it('starts again from a fresh snapshot once, and the file holds the table as it is now', async () => {
    const watcher = truncateWhileDumping(1);
    const run = await backup(src, path.join(work, 'once'), 'full');
    expect(await watcher.stop()).toBe(1);
    expect(run.summary.error).toBeUndefined();
    expect(run.logs).toMatch(
      /table zzz_victim was dropped or altered during the backup .*: starting again from a fresh snapshot/,
    );
    expect(run.result.rowsByTable).toEqual({ aaa_big: 200000, zzz_victim: 1 });
    expect(run.result.verified?.ok).toBe(true);
  }, 180_000);

  it('changed again on the retry: fails naming the table, no file written', async () => {
    const out = path.join(work, 'twice');
    const watcher = truncateWhileDumping(2);
    const run = await backup(src, out, 'full');
    expect(await watcher.stop()).toBe(2);
    expect(run.summary.status).toBe('failed');
    expect(run.summary.error).toMatch(
      /^table zzz_victim was dropped or altered during the backup .*again on the retry: no backup written/,
    );
    expect(fs.existsSync(out) ? fs.readdirSync(out) : []).toEqual([]);
  }, 180_000);
});
