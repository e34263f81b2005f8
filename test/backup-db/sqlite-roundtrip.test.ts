import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteDb } from '../../src/db/sqlite.js';
import { checksumSqliteTables } from '../../src/db/dump/sqlite.js';
import { restoreBackup } from '../../src/db/dump/restore.js';
import { backupDbJob, type BackupResult } from '../../src/jobs/backup-db/index.js';
import { runJob } from '../../src/runner/runner.js';
import { tempDir } from '../support/databases.js';
import { testEnvironment } from '../support/environment.js';

/** Columns of the wide tables: past the ~500 where flat SQL over every column hits SQLite's depth limit. */
const WIDE = 900;

/** Every trap a SQLite backup must survive, in one database. */
function buildFixture(file: string): void {
  const raw = new Database(file);
  raw.pragma('journal_mode = WAL');
  raw.exec(`
    CREATE TABLE counters (id INTEGER PRIMARY KEY AUTOINCREMENT, label TEXT NOT NULL);
    CREATE TABLE kv (k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID;
    CREATE TABLE typed (id INTEGER PRIMARY KEY, n INTEGER, r REAL, t TEXT, b BLOB, a ANY) STRICT;
    CREATE TABLE untyped (x, y);
    CREATE TABLE "order" ("select" TEXT, "weird ""name""" TEXT, [spaced col] INTEGER);
    CREATE TABLE gen (id INTEGER PRIMARY KEY, price REAL, qty INTEGER,
      total REAL GENERATED ALWAYS AS (price * qty) STORED,
      label TEXT GENERATED ALWAYS AS ('item ' || id) VIRTUAL);
    CREATE INDEX idx_gen_total ON gen(total);
    CREATE UNIQUE INDEX "idx odd" ON "order"("select");
    CREATE TABLE audit (id INTEGER PRIMARY KEY, what TEXT);
    CREATE TABLE late_key (name TEXT, id INTEGER PRIMARY KEY, note);
    CREATE TABLE many (id INTEGER PRIMARY KEY, v);
    CREATE TABLE sparse (id INTEGER PRIMARY KEY, v TEXT);
    CREATE TABLE empty (id INTEGER PRIMARY KEY, v TEXT);
    CREATE TABLE empty_kv (k TEXT PRIMARY KEY, v) WITHOUT ROWID;
    CREATE TABLE nul_text (id INTEGER PRIMARY KEY, t TEXT, o);
    CREATE TABLE only_key (id INTEGER PRIMARY KEY);
    CREATE TABLE wide (id INTEGER PRIMARY KEY, ${Array.from({ length: WIDE }, (_, i) => `c${i} ${['INTEGER', 'TEXT', 'REAL', ''][i % 4]}`).join(', ')});
    CREATE TABLE wide_kv (k TEXT PRIMARY KEY, ${Array.from({ length: WIDE }, (_, i) => `c${i} ${['INTEGER', 'TEXT', 'REAL', ''][i % 4]}`).join(', ')}) WITHOUT ROWID;
    CREATE TABLE nul_other (id INTEGER PRIMARY KEY, o);
    CREATE TABLE affinity (id INTEGER PRIMARY KEY, i INTEGER, t VARCHAR(20), r REAL, n NUMERIC, b BLOB);
    CREATE TRIGGER counters_audit AFTER INSERT ON counters BEGIN
      INSERT INTO audit (what) VALUES ('counter ' || NEW.label || ';');
      UPDATE audit SET what = CASE WHEN what IS NULL THEN 'x' ELSE what END WHERE id = -1;
    END;
    CREATE VIEW big_totals AS SELECT id, total FROM gen WHERE total > 10;
    CREATE VIEW bigger_totals AS SELECT id FROM big_totals WHERE total > 100;
  `);
  const insCounter = raw.prepare('INSERT INTO counters (label) VALUES (?)');
  for (let i = 0; i < 5; i++) insCounter.run(`c${i}`);
  raw.exec('DELETE FROM counters WHERE id IN (4, 5)'); // AUTOINCREMENT must hand out 6 next, not 4
  raw.prepare('INSERT INTO kv VALUES (?, ?)').run('zeros', Buffer.from([0, 0, 1, 255, 0]));
  raw.prepare('INSERT INTO kv VALUES (?, ?)').run('empty', Buffer.alloc(0));
  raw.prepare('INSERT INTO kv VALUES (?, ?)').run('quote\'n"newline\n', null);
  const typed = raw.prepare('INSERT INTO typed (id, n, r, t, b, a) VALUES (?, ?, ?, ?, ?, ?)');
  typed.safeIntegers(true);
  typed.run(1n, 9223372036854775807n, 0.1, 'NULL', Buffer.from('NULL'), null);
  typed.run(2n, -9223372036854775808n, 1e308, null, null, 'text in ANY');
  typed.run(3n, 0n, -0.0, "😀 emoji, \\ backslash, 'quote', \r\n crlf", Buffer.from([1, 2, 3]), 42n);
  typed.run(4n, 1n, 5e-324, '', Buffer.alloc(0), 3.0);
  typed.run(5n, 2n, 3.0, 'tab\there\u0000nul inside', null, Buffer.from([0xde, 0xad]));
  typed.run(6n, 3n, 123456789.12345679, 'ends with backslash \\', null, 1.0000000000000002);
  // Text that is not valid UTF-8 must come back as the same bytes, still typed text.
  raw.exec(
    "INSERT INTO untyped VALUES (CAST(X'C328FF' AS TEXT), 1), ('plain', 2.5), (X'00', NULL), (NULL, 'NULL'), (-1, 1e-5)",
  );
  // Reals SQLite's quote() gets wrong on its own (-0.0) or writes specially (±Inf, 17 digits), and ASCII text with a lone CR.
  raw.exec(
    "INSERT INTO untyped VALUES (-0.0, 9e999), (-9e999, 0.30000000000000004), ('cr\r only ascii', char(9, 10, 1))",
  );
  raw.exec('DELETE FROM untyped WHERE rowid = 2'); // a rowid gap the restore must keep
  // The rowid column not first; text that quote() gets right (UTF-8, tabs) beside each thing it gets wrong or the reader must re-read.
  const late = raw.prepare('INSERT INTO late_key (name, id, note) VALUES (?, ?, ?)');
  late.safeIntegers(true);
  late.run('déjà vu ✓\ttab', -9223372036854775808n, 'first possible rowid');
  late.run('genuine \uFFFD replacement character', 2n, 'x');
  late.run('crlf\r\nline', 3n, -0.0);
  late.run('nul\u0000inside', 4n, 0.0);
  late.run('plain', 9223372036854775807n, 0n);
  raw.exec("INSERT INTO late_key (name, id, note) VALUES (CAST(X'FF' AS TEXT), 5, 'after bytes that are not UTF-8')");
  // Values unusual for their column's declared type: the dump's typed fast path must hand them on.
  raw.exec(`INSERT INTO affinity VALUES
    (1, 3.5, X'00', -0.0, '12abc', 'x'), (2, 1e20, 'it''s', 1.5, 0.0, -0.0), (3, 'abc', NULL, NULL, -0.0, NULL),
    (4, NULL, 'four', 2, X'01', 7), (5, -9223372036854775808, 'plain', 1e308, 5, 'a'),
    (6, 9223372036854775807, '', -1e-300, 9.5, X''), (7, 0, 'ünïcödé', 0.0, -1, 1.0)`);
  // Text holding a NUL, alone in its table's chunk: nothing else sends it down the row-by-row path.
  raw.exec("INSERT INTO nul_text VALUES (1, 'a' || char(0) || 'b', 'x'), (2, 'ok', 'y')");
  raw.exec("INSERT INTO nul_other VALUES (1, 'c' || char(0) || 'd'), (2, 'z')");
  // More columns than one printf() takes, and than a flat chain of conditions over them allows
  // (SQLite's expression depth limit); row 2 holds a NUL, so its chunk is read row by row.
  const wideRow = (n: number) =>
    Array.from(
      { length: WIDE },
      (_, i) =>
        [
          n * 1000 + i,
          n === 2 && i === 5 ? 'nul\u0000' : `t${n}'${i}`,
          n + i / 8,
          i % 8 === 3 ? Buffer.from([n, i % 256]) : null,
        ][i % 4],
    );
  const insertWide = raw.prepare(`INSERT INTO wide VALUES (?${', ?'.repeat(WIDE)})`);
  const insertWideKv = raw.prepare(`INSERT INTO wide_kv VALUES (?${', ?'.repeat(WIDE)})`);
  for (let n = 1; n <= 3; n++) {
    insertWide.run(n, ...wideRow(n));
    insertWideKv.run(`key ${n}`, ...wideRow(n));
  }
  raw.exec('INSERT INTO only_key VALUES (1), (5), (9)');
  // Enough rows for several chunks, each trap in a different one, among plain rows.
  raw.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 6000)
    INSERT INTO many (id, v) SELECT i, CASE i WHEN 1500 THEN 'cr' || char(13) || 'x' WHEN 2500 THEN 'nul' || char(0) || 'x'
      WHEN 3500 THEN -0.0 WHEN 4500 THEN CAST(X'61FF' AS TEXT) ELSE 'row ' || i || ' ' || hex(zeroblob(500)) END FROM n`);
  // Rowids in runs and gaps, for the chunk ranges: a dense run (ranges then worked out, not
  // walked) broken by a gap of 100, a gap of 10^12, a sparse run (every 7th), and the last rowid.
  raw.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4000)
    INSERT INTO sparse (id, v) SELECT id, 'row ' || id || ' ' || hex(zeroblob(200)) FROM (
      SELECT i - 3001 AS id FROM n WHERE i <= 3000
      UNION ALL SELECT i FROM n WHERE i NOT BETWEEN 2001 AND 2100
      UNION ALL SELECT 1000000000000 + i FROM n WHERE i <= 1000
      UNION ALL SELECT 2000000000000 + 7 * i FROM n WHERE i <= 1500
      UNION ALL SELECT 9223372036854775807)`);
  raw.exec(`INSERT INTO "order" VALUES ('a', 'b', 1), ('c', NULL, 2), ('it''s', 'x''''y ~ \\ \` ", []', 3)`); // printable ASCII with quotes: SQLite's quote() path
  raw.exec('INSERT INTO gen (id, price, qty) VALUES (1, 2.5, 4), (2, 99.5, 3), (3, 0.1, 3)');
  raw.close();
}

function schemaOf(file: string): { type: string; name: string; sql: string | null }[] {
  const raw = new Database(file, { readonly: true });
  const rows = raw
    .prepare(
      "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND tbl_name NOT LIKE 'webjobs_%' ORDER BY type, name",
    )
    .all() as { type: string; name: string; sql: string | null }[];
  raw.close();
  return rows;
}

function sequenceOf(file: string): unknown[] {
  const raw = new Database(file, { readonly: true });
  const rows = raw.prepare("SELECT name, seq FROM sqlite_sequence WHERE name NOT LIKE 'webjobs_%' ORDER BY name").all();
  raw.close();
  return rows;
}

const ALL_TABLES = [
  'affinity',
  'audit',
  'counters',
  'empty',
  'empty_kv',
  'gen',
  'kv',
  'late_key',
  'many',
  'nul_other',
  'nul_text',
  'only_key',
  'order',
  'sparse',
  'typed',
  'untyped',
  'wide',
  'wide_kv',
];

/** Every stored value of a table, exactly: its type, text as the hex of its bytes, integers as BigInt, -0.0 apart from 0.0, blobs as bytes. */
function valuesOf(file: string, table: string): unknown[][] {
  const raw = new Database(file, { readonly: true });
  raw.defaultSafeIntegers(true);
  const q = (name: string) => `"${name.replace(/"/g, '""')}"`;
  const cols = (
    raw.prepare('SELECT name FROM pragma_table_xinfo(?) WHERE hidden = 0').pluck().all(table) as string[]
  ).map(q);
  const withoutRowid =
    raw.prepare("SELECT wr FROM pragma_table_list WHERE name = ? AND schema = 'main'").pluck().get(table) === 1n;
  const select = cols
    .map((c) => `typeof(${c}), CASE WHEN typeof(${c}) = 'text' THEN hex(${c}) ELSE ${c} END`)
    .join(', ');
  const rows = raw
    .prepare(
      `SELECT ${withoutRowid ? '' : 'rowid, '}${select} FROM ${q(table)} ORDER BY ${withoutRowid ? '1' : 'rowid'}`,
    )
    .raw()
    .all() as unknown[][];
  raw.close();
  return rows;
}

describe('backup-db on SQLite: every value and object round-trips', () => {
  let dir: string;
  let source: string;
  let result: BackupResult;

  beforeAll(async () => {
    dir = tempDir();
    source = path.join(dir, 'source.sqlite');
    buildFixture(source);
    const db = SqliteDb.open(source);
    const env = testEnvironment({
      db,
      url: `sqlite:${source}`,
      config: { backup: { dir: path.join(dir, 'backups') } },
    });
    const summary = await runJob(backupDbJob, { type: 'full', verify: true }, env, { dryRun: false, args: {} });
    await db.close();
    expect(summary.error).toBeUndefined();
    expect(summary.status).toBe('succeeded');
    result = summary.result as BackupResult;
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes one gzip file, mode 0600, named backup_full_<time>.sql.gz, and verifies it', () => {
    expect(path.basename(result.file ?? '')).toMatch(/^backup_full_2026-11-25_03-00-00\.sql\.gz$/);
    expect(fs.statSync(result.file as string).mode & 0o777).toBe(0o600);
    const name = path.basename(result.file as string);
    expect(fs.readdirSync(path.join(dir, 'backups')).sort()).toEqual([name, `${name}.manifest.json`]);
    expect(result.tables.sort()).toEqual(ALL_TABLES);
    expect(result.views.sort()).toEqual(['big_totals', 'bigger_totals']);
    expect(result.triggers).toEqual(['counters_audit']);
    expect(result.verified?.ok).toBe(true);
    expect(result.rowsByTable.typed).toBe(6);
    expect(result.rowsByTable.sparse).toBe(3000 + 3900 + 1000 + 1500 + 1);
    expect([result.rowsByTable.empty, result.rowsByTable.empty_kv]).toEqual([0, 0]);
  });

  for (const via of ['the real sqlite3 client', 'webjobs restore-db'] as const) {
    it(`restores with ${via}: identical values, schema and AUTOINCREMENT counters`, async () => {
      const target = path.join(dir, `restored-${via.length}.sqlite`);
      if (via === 'the real sqlite3 client') {
        execFileSync('sh', ['-c', `gunzip -c "$1" | sqlite3 -bail "$2"`, 'sh', result.file as string, target]);
      } else {
        const db = SqliteDb.open(target);
        await restoreBackup(db, result.file as string);
        await db.close();
      }
      expect(checksumSqliteTables(target, ALL_TABLES)).toEqual(checksumSqliteTables(source, ALL_TABLES));
      for (const table of ALL_TABLES) expect(valuesOf(target, table), table).toEqual(valuesOf(source, table));
      expect(schemaOf(target)).toEqual(schemaOf(source));
      expect(sequenceOf(target)).toEqual(sequenceOf(source));
      const raw = new Database(target);
      // Triggers came after the data: restoring did not fire them (audit is as it was: empty of restore noise).
      expect(raw.prepare('SELECT COUNT(*) AS n FROM audit').get()).toEqual({ n: 5 });
      expect(raw.prepare('SELECT typeof(x) AS t, hex(x) AS h FROM untyped WHERE rowid = 1').get()).toEqual({
        t: 'text',
        h: 'C328FF',
      });
      expect(raw.prepare('SELECT rowid FROM untyped ORDER BY rowid').all()).toEqual([
        { rowid: 1 },
        { rowid: 3 },
        { rowid: 4 },
        { rowid: 5 },
        { rowid: 6 },
        { rowid: 7 },
        { rowid: 8 },
      ]);
      expect(raw.prepare('SELECT x, y FROM untyped WHERE rowid = 6').raw().get()).toEqual([-0, Infinity]);
      expect(raw.prepare('SELECT hex(x) FROM untyped WHERE rowid = 8').pluck().get()).toBe(
        '6372' + '0D' + '206F6E6C79206173636969',
      );
      const lateRows = raw
        .prepare('SELECT id, hex(name) AS name, typeof(note) AS t, note FROM late_key ORDER BY id')
        .all();
      const sourceRows = new Database(source, { readonly: true })
        .prepare('SELECT id, hex(name) AS name, typeof(note) AS t, note FROM late_key ORDER BY id')
        .all();
      expect(lateRows).toEqual(sourceRows);
      expect(lateRows.map((r) => (r as { name: string }).name)).toContain('FF');
      expect(Object.is(raw.prepare('SELECT note FROM late_key WHERE id = 3').pluck().get() as number, -0)).toBe(true);
      const manyOf = (db: Database.Database) =>
        db
          .prepare(
            'SELECT id, typeof(v) AS t, hex(CAST(v AS BLOB)) AS h, atan2(v, -1) < 0 AS negative FROM many ORDER BY id',
          )
          .all();
      const manyRows = manyOf(raw);
      expect(manyRows).toHaveLength(6000);
      expect(manyRows).toEqual(manyOf(new Database(source, { readonly: true })));
      expect(
        manyRows.filter((r) => (r as { negative: number }).negative === 1).map((r) => (r as { id: number }).id),
      ).toEqual([3500]);
      raw.prepare('INSERT INTO counters (label) VALUES (?)').run('next');
      expect(raw.prepare("SELECT id FROM counters WHERE label = 'next'").get()).toEqual({ id: 6 });
      expect(raw.prepare('SELECT total, label FROM gen WHERE id = 2').get()).toEqual({ total: 298.5, label: 'item 2' });
      raw.close();
    });
  }

  it('detects a difference: a changed value changes the checksum', () => {
    const copy = path.join(dir, 'changed.sqlite');
    execFileSync('sh', ['-c', `gunzip -c "$1" | sqlite3 -bail "$2"`, 'sh', result.file as string, copy]);
    const raw = new Database(copy);
    raw.prepare("UPDATE kv SET v = X'0000010000' WHERE k = 'zeros'").run();
    raw.close();
    const before = checksumSqliteTables(source, ['kv'])[0];
    const after = checksumSqliteTables(copy, ['kv'])[0];
    expect(after?.rows).toBe(before?.rows);
    expect(after?.checksum).not.toBe(before?.checksum);
  });
});
