import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connect.js';
import { checksumMysqlTables } from '../../src/db/dump/mysql.js';
import type { MysqlDb } from '../../src/db/mysql.js';
import { runCli } from '../support/cli.js';
import { mariadbDatabase, mariadbServer, tempDir, type TestDatabase } from '../support/databases.js';

/** Every trap a MariaDB backup must survive, in one database. */
const FIXTURE = [
  `SET SESSION sql_mode = ''`,
  `SET SESSION time_zone = '+05:30'`,
  `CREATE TABLE \`types\` (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  u64 BIGINT UNSIGNED NULL, i64 BIGINT NULL, d65 DECIMAL(65,30) NULL, d0 DECIMAL(65,0) NULL,
  f FLOAT NULL, dbl DOUBLE NULL,
  dt DATETIME(6) NULL, ts TIMESTAMP(6) NULL DEFAULT NULL, d DATE NULL, tm TIME(3) NULL, y YEAR NULL,
  zdt DATETIME NULL, zd DATE NULL,
  bin VARBINARY(300) NULL, blb LONGBLOB NULL, fixed BINARY(4) NULL,
  txt TEXT NULL, vc VARCHAR(100) NULL, js JSON NULL,
  en ENUM('a','b','NULL','') NULL, st SET('x','y','z') NULL,
  b1 BIT(1) NULL, b12 BIT(12) NULL, b64 BIT(64) NULL,
  lat VARCHAR(20) CHARACTER SET latin1 NULL,
  gen_v INT GENERATED ALWAYS AS (CHAR_LENGTH(vc)) VIRTUAL,
  gen_s VARCHAR(120) GENERATED ALWAYS AS (CONCAT('v:', vc)) STORED,
  KEY gen_s_idx (gen_s)
) ENGINE=InnoDB AUTO_INCREMENT=1000`,
  `CREATE TABLE \`order\` (\`select\` INT NOT NULL PRIMARY KEY, \`we\`\`ird "name";\` VARCHAR(50) NULL, \`sp ace\` TEXT NULL, \`from\` DATETIME(3) NULL)`,
  `CREATE TABLE nokey (a INT NULL, b VARCHAR(10) NULL)`,
  `CREATE TABLE parent (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL)`,
  `CREATE TABLE child (id INT PRIMARY KEY, parent_id INT NOT NULL, CONSTRAINT fk_child_parent FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE CASCADE)`,
  `CREATE TABLE uniq_only (code VARCHAR(10) NOT NULL, n INT NULL, UNIQUE KEY code_u (code))`,
  `CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(200) NOT NULL)`,
  `CREATE TABLE bulk (id INT PRIMARY KEY, payload VARCHAR(200) NOT NULL)`,
  `CREATE TRIGGER types_ai AFTER INSERT ON \`types\` FOR EACH ROW INSERT INTO audit (what) VALUES (CONCAT('types ', NEW.id, '; "quoted"'))`,
  `CREATE TRIGGER types_ai2 AFTER INSERT ON \`types\` FOR EACH ROW FOLLOWS types_ai BEGIN
  IF NEW.vc IS NOT NULL THEN INSERT INTO audit (what) VALUES (CONCAT('second ', NEW.id)); END IF;
END`,
  `CREATE VIEW a_outer AS SELECT \`select\` AS s FROM b_inner WHERE \`select\` > 1`,
];

// a_outer sorts before b_inner and selects from it: a view on a view, out of order.
const VIEW_INNER = 'CREATE VIEW b_inner AS SELECT `select`, `we``ird "name";` AS w FROM `order`';

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

async function buildFixture(conn: mysql.Connection): Promise<void> {
  for (const s of FIXTURE) {
    if (s.startsWith('CREATE VIEW a_outer')) await conn.query(VIEW_INNER);
    await conn.query(s);
  }
  const rows: unknown[][] = [
    [
      '18446744073709551615',
      '-9223372036854775808',
      '99999999999999999999999999999999999.999999999999999999999999999999',
      '-99999999999999999999999999999999999999999999999999999999999999999',
      0.1,
      -0.0,
      '2026-01-02 03:04:05.123456',
      '2026-03-29 02:30:00.000001',
      '2026-02-28',
      '-838:59:59.999',
      2155,
      '0000-00-00 00:00:00',
      '0000-00-00',
      ALL_BYTES,
      Buffer.alloc(0),
      Buffer.from([0, 0, 0, 0]),
      'NULL',
      'tab\there \\ back\'slash "dq" \r\n nul\u0000 ctrl-z\u001a 😀 ünï',
      '{"a": [1, 2.50, "x\\"y\\\\z"], "n": null, "big": 12345678901234567890}',
      'NULL',
      'x,z',
      1,
      0b101010101010,
      '18446744073709551615',
      'café',
    ],
    [
      null,
      null,
      '0.000000000000000000000000000001',
      '0',
      3.4028234663852886e38,
      1e308,
      '1000-01-01 00:00:00.000000',
      '1970-01-01 00:00:01.000000',
      '9999-12-31',
      '00:00:00.5',
      1901,
      '2026-00-00 00:00:00',
      '2026-02-00',
      Buffer.from('NULL'),
      Buffer.from([0xde, 0xad, 0xbe, 0xef]),
      null,
      null,
      '',
      '[]',
      '',
      '',
      0,
      0,
      0,
      '',
    ],
    [
      '0',
      '9223372036854775807',
      '-0.5',
      '1',
      -1.5e-38,
      2.2250738585072014e-308,
      null,
      '2038-01-19 03:14:07.999999',
      null,
      null,
      null,
      null,
      null,
      Buffer.from("'\\\n"),
      ALL_BYTES,
      Buffer.from('ab\0\0'),
      'ends with backslash \\',
      "'",
      '"plain string"',
      'a',
      'x,y,z',
      null,
      4095,
      1,
      null,
    ],
  ];
  const cols =
    'u64, i64, d65, d0, f, dbl, dt, ts, d, tm, y, zdt, zd, bin, blb, fixed, txt, vc, js, en, st, b1, b12, b64, lat';
  for (const r of rows) {
    const ph = r.map((_, i) => (i === 23 ? 'CAST(? AS UNSIGNED)' : '?')).join(', ');
    await conn.query(`INSERT INTO \`types\` (${cols}) VALUES (${ph})`, r);
  }
  await conn.query('UPDATE `types` SET dbl = -0e0 WHERE id = 1000'); // negative zero, kept as the server prints it
  await conn.query('DELETE FROM `types` WHERE id = 1001'); // a gap; AUTO_INCREMENT stays past it
  await conn.query(
    "INSERT INTO `order` VALUES (1, 'NULL', NULL, '2026-01-01 00:00:00.001'), (2, NULL, 'NULL', NULL), (3, '`', '\\\\', '0000-00-00 00:00:00.000')",
  );
  await conn.query("INSERT INTO nokey VALUES (1, 'dup'), (1, 'dup'), (NULL, NULL), (2, 'NULL')");
  await conn.query("INSERT INTO parent VALUES (1, 'one'), (2, 'two')");
  await conn.query('INSERT INTO child VALUES (10, 1), (11, 2), (12, 2)');
  await conn.query("INSERT INTO uniq_only VALUES ('b', 2), ('a', NULL), ('c', 3)");
  const bulk: unknown[][] = [];
  for (let i = 1; i <= 3000; i++) bulk.push([i, `row ${i} ${'x'.repeat(i % 150)}`]);
  await conn.query('INSERT INTO bulk VALUES ?', [bulk]);
}

const TABLES = ['audit', 'bulk', 'child', 'nokey', 'order', 'parent', 'types', 'uniq_only'];

async function adminConnection(database: string): Promise<mysql.Connection> {
  const s = mariadbServer();
  return mysql.createConnection({
    host: '127.0.0.1',
    port: s.port,
    user: s.user,
    password: s.password,
    database,
    multipleStatements: false,
    charset: 'utf8mb4',
  });
}

/** Definitions (tables, views, triggers) as SHOW CREATE prints them, with the database's name taken out. */
async function definitions(database: string): Promise<Record<string, string>> {
  const c = await adminConnection(database);
  try {
    const out: Record<string, string> = {};
    const [objects] = await c.query<mysql.RowDataPacket[]>(
      'SELECT TABLE_NAME AS name, TABLE_TYPE AS type FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME',
      [database],
    );
    for (const o of objects) {
      if (String(o.name).startsWith('webjobs_')) continue;
      const view = o.type === 'VIEW';
      const [rows] = await c.query<mysql.RowDataPacket[]>({
        sql: `SHOW CREATE ${view ? 'VIEW' : 'TABLE'} \`${String(o.name).replace(/`/g, '``')}\``,
        rowsAsArray: true,
      });
      out[`${view ? 'view' : 'table'} ${o.name}`] = String((rows[0] as unknown as string[])[1]);
    }
    const [triggers] = await c.query<mysql.RowDataPacket[]>(
      'SELECT TRIGGER_NAME AS name, ACTION_ORDER AS ord FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?',
      [database],
    );
    for (const t of triggers) {
      const [rows] = await c.query<mysql.RowDataPacket[]>({
        sql: `SHOW CREATE TRIGGER \`${t.name}\``,
        rowsAsArray: true,
      });
      const r = rows[0] as unknown as string[];
      out[`trigger ${t.name}`] = `${r[1]} | ${r[2]} | order ${t.ord}`;
    }
    return out;
  } finally {
    await c.end();
  }
}

/** The server's own view of the data, independent of webjobs' code: CHECKSUM TABLE and every value as raw bytes, in key order. */
async function serverView(database: string): Promise<Record<string, unknown>> {
  const c = await adminConnection(database);
  try {
    await c.query("SET time_zone = '+00:00'");
    const out: Record<string, unknown> = {};
    for (const t of TABLES) {
      const [[sum]] = await c.query<mysql.RowDataPacket[]>(`CHECKSUM TABLE \`${t}\` EXTENDED`);
      const order =
        t === 'nokey'
          ? 'ORDER BY a, b'
          : t === 'uniq_only'
            ? 'ORDER BY code'
            : t === 'order'
              ? 'ORDER BY `select`'
              : 'ORDER BY id';
      const [rows] = await c.query({ sql: `SELECT * FROM \`${t}\` ${order}`, rowsAsArray: true, typeCast: false });
      out[t] = { checksum: String(sum?.Checksum), rows };
    }
    return out;
  } finally {
    await c.end();
  }
}

function mariadbClient(database: string, input: string): void {
  const s = mariadbServer();
  execFileSync(
    'sh',
    ['-c', 'gunzip -c "$1" | mariadb -h 127.0.0.1 -P "$2" -u "$3" "$4"', 'sh', input, String(s.port), s.user, database],
    {
      env: { ...process.env, MYSQL_PWD: s.password },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
}

describe('backup-db on MariaDB: every value and object round-trips', () => {
  let src: TestDatabase;
  let work: string;
  let summary: {
    status: string;
    result: Record<string, unknown> & { file: string; verified: { ok: boolean; tables: unknown[] } };
  };
  let sourceDefinitions: Record<string, string>;
  let sourceView: Record<string, unknown>;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    src = await mariadbDatabase('src');
    work = tempDir();
    const conn = await adminConnection(src.location);
    await buildFixture(conn);
    await conn.end();
    fs.writeFileSync(path.join(work, 'config.json'), JSON.stringify({ backup: { maxStatementBytes: 16384 } }));
    const r = await runCli(
      ['backup-db', '--type', 'full', '--verify', '--json', '--out', path.join(work, 'out'), '--config', 'config.json'],
      {
        cwd: work,
        env: { DATABASE_URL: src.url },
      },
    );
    expect(r.stderr).not.toMatch(/ERROR/);
    expect(r.code).toBe(0);
    summary = JSON.parse(r.stdout);
    sourceDefinitions = await definitions(src.location);
    sourceView = await serverView(src.location);
  }, 120_000);

  afterAll(async () => {
    for (const c of cleanups) await c();
    await src?.cleanup();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  async function freshDatabase(): Promise<TestDatabase> {
    const t = await mariadbDatabase('dst');
    cleanups.push(() => t.cleanup());
    return t;
  }

  it('writes one verified 0600 file with every table, view and trigger', () => {
    expect(summary.status).toBe('succeeded');
    const res = summary.result;
    expect(res.tables).toEqual(TABLES);
    expect(res.views).toEqual(['a_outer', 'b_inner']);
    expect(res.triggers).toEqual(['types_ai', 'types_ai2']);
    expect(res.verified.ok).toBe(true);
    expect(res.verified.tables).toHaveLength(TABLES.length);
    expect(res.rowsByTable).toMatchObject({ types: 2, nokey: 4, bulk: 3000, audit: 6 });
    expect(fs.statSync(res.file).mode & 0o777).toBe(0o600);
  });

  it('the file: header, bounded multi-row INSERTs, explicit columns without generated ones, views after tables, triggers after data, footer', () => {
    const sql = gunzipSync(fs.readFileSync(summary.result.file)).toString('utf8');
    const lines = sql.split('\n');
    if (process.env.WEBJOBS_SHOW_DUMP) console.log(sql.replace(/INSERT INTO `bulk`[^;]*;\n/g, ''));
    expect(lines[0]).toBe('-- webjobs backup format 1');
    expect(sql).toContain('SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0;');
    expect(sql).toContain("TIME_ZONE='+00:00'");
    expect(lines.filter((l) => l.trim()).at(-1)).toMatch(/^-- webjobs backup completed \d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    const bulkInserts = sql.split(';\n').filter((s) => s.startsWith('INSERT INTO `bulk`'));
    expect(bulkInserts.length).toBeGreaterThan(10);
    for (const s of bulkInserts) expect(Buffer.byteLength(s)).toBeLessThan(16384 + 400);
    const typesInsert = sql.split(';\n').find((s) => s.startsWith('INSERT INTO `types`')) ?? '';
    expect(typesInsert).not.toContain('gen_v');
    expect(typesInsert).not.toContain('gen_s');
    const lastTable = sql.lastIndexOf('CREATE TABLE');
    expect(sql.indexOf('CREATE VIEW')).toBeGreaterThan(lastTable);
    expect(sql.indexOf('TRIGGER types_ai ')).toBeGreaterThan(sql.lastIndexOf('INSERT INTO `'));
    expect(sql).not.toMatch(/DEFINER=/);
  });

  it('restores with the real mariadb client: identical data, definitions, and no trigger fired', async () => {
    const dst = await freshDatabase();
    mariadbClient(dst.location, summary.result.file);
    expect(await definitions(dst.location)).toEqual(sourceDefinitions);
    expect(await serverView(dst.location)).toEqual(sourceView);
    expect(await checksumMysqlTables(dst.db as MysqlDb, TABLES)).toEqual(
      await checksumMysqlTables(src.db as MysqlDb, TABLES),
    );
    const c = await adminConnection(dst.location);
    try {
      const [[count]] = await c.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM audit');
      expect(count?.n).toBe(6);
      await c.query("SET time_zone = '+00:00'");
      const [[ts]] = await c.query<mysql.RowDataPacket[]>({
        sql: 'SELECT CAST(ts AS CHAR) AS ts, HEX(bin) AS h, js, CAST(u64 AS CHAR) AS u FROM `types` WHERE id = 1000',
        typeCast: false,
      });
      // Inserted as 02:30 at +05:30: 21:00 the day before in UTC, whatever the restoring session's zone.
      expect(String(ts?.ts)).toBe('2026-03-28 21:00:00.000001');
      expect(String(ts?.h)).toBe(ALL_BYTES.toString('hex').toUpperCase());
      expect(String(ts?.u)).toBe('18446744073709551615');
      await c.query("INSERT INTO `types` (vc) VALUES ('next')");
      const [[next]] = await c.query<mysql.RowDataPacket[]>("SELECT id FROM `types` WHERE vc = 'next'");
      expect(Number(next?.id)).toBe(1003); // AUTO_INCREMENT came back as it was
      const [viewRows] = await c.query<mysql.RowDataPacket[]>('SELECT s FROM a_outer ORDER BY s');
      expect(viewRows.map((r) => r.s)).toEqual([2, 3]);
    } finally {
      await c.end();
    }
  });

  it('restores with webjobs restore-db; refuses a target holding the tables unless --force', async () => {
    const dst = await freshDatabase();
    const file = summary.result.file;
    const r = await runCli(['restore-db', file, '--db', dst.url, '--json'], { cwd: work });
    expect(r.stderr).not.toMatch(/ERROR/);
    expect(r.code).toBe(0);
    expect(await definitions(dst.location)).toEqual(sourceDefinitions);
    expect(await serverView(dst.location)).toEqual(sourceView);
    const again = await runCli(['restore-db', file, '--db', dst.url], { cwd: work });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already holds 8 of the backup's tables .*--force/);
    const forced = await runCli(['restore-db', file, '--db', dst.url, '--force'], { cwd: work });
    expect(forced.code).toBe(0);
    expect(await serverView(dst.location)).toEqual(sourceView);
  });

  it('the checksums see a changed value, a changed byte, a lost duplicate row', async () => {
    const dst = await freshDatabase();
    mariadbClient(dst.location, summary.result.file);
    const db = (await openDatabase(dst.url)) as MysqlDb;
    cleanups.push(() => db.close());
    const before = await checksumMysqlTables(db, ['types', 'nokey', 'order']);
    const c = await adminConnection(dst.location);
    await c.query("UPDATE `types` SET blb = CONCAT(blb, X'00') WHERE id = 1002");
    await c.query("DELETE FROM nokey WHERE b = 'dup' LIMIT 1");
    await c.query("UPDATE `order` SET `from` = '2026-01-01 00:00:00.002' WHERE `select` = 1");
    await c.end();
    const after = await checksumMysqlTables(db, ['types', 'nokey', 'order']);
    expect(after[0]?.checksum).not.toBe(before[0]?.checksum);
    expect(after[1]?.rows).toBe(3);
    expect(after[1]?.checksum).not.toBe(before[1]?.checksum);
    expect(after[2]?.checksum).not.toBe(before[2]?.checksum);
  });
});
