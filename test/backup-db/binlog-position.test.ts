import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connect.js';
import type { Db } from '../../src/db/types.js';
import { backupDbJob, type BackupResult } from '../../src/jobs/backup-db/index.js';
import { runJob } from '../../src/runner/runner.js';
import { tempDir } from '../support/databases.js';
import { testEnvironment } from '../support/environment.js';
import { startMariaDb, type PrivateMariaDb } from '../support/mariadb-server.js';

/**
 * The manifest's binary log position is the one point-in-time recovery starts from: the dump
 * restored, then the binary log replayed from that position, must give the table exactly as it
 * is now — rows written while the dump ran included, none twice. A position read outside the
 * dump's snapshot (too early: duplicate keys; too late: rows lost) fails this.
 */
describe('backup-db on a MariaDB writing a binary log', () => {
  let server: PrivateMariaDb;
  let db: Db;
  let work: string;
  const database = 'pitr';

  const client = (args: string[], input?: string) =>
    execFileSync('mariadb', ['--socket', server.socket, '-u', 'root', ...args], {
      input,
      stdio: ['pipe', 'pipe', 'pipe'],
      maxBuffer: 256 * 1024 * 1024,
    }).toString();

  beforeAll(async () => {
    server = await startMariaDb({ binlog: true });
    work = tempDir('webjobs-binlog-');
    client(['-e', `CREATE DATABASE ${database}`]);
    db = await openDatabase(server.url(database));
    await db.execute('CREATE TABLE items (id INT PRIMARY KEY, body VARCHAR(100) NOT NULL)');
    for (let i = 0; i < 40; i++)
      await db.execute(
        `INSERT INTO items VALUES ${Array.from({ length: 500 }, (_, j) => `(${i * 500 + j}, REPEAT('x', 90))`).join(',')}`,
      );
  }, 120_000);

  afterAll(async () => {
    await db?.close();
    await server?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('records the snapshot position; restore + replay from it gives the live table, writes during the dump included', async () => {
    // A writer inserts and updates while the backup runs.
    const writer = await mysql.createConnection({ socketPath: server.socket, user: 'root', database });
    let writing = true;
    let written = 0;
    const writes = (async () => {
      while (writing) {
        await writer.query('INSERT INTO items VALUES (?, ?)', [100_000 + written, `during ${written}`]);
        await writer.query("UPDATE items SET body = CONCAT(body, '+') WHERE id = ?", [written % 20_000]);
        written++;
      }
    })();
    await new Promise((r) => setTimeout(r, 50));
    const env = testEnvironment({ db, url: server.url(database), config: { backup: { dir: work } } });
    const summary = await runJob(backupDbJob, { type: 'full' }, env, { dryRun: false, args: {} });
    writing = false;
    await writes;
    await writer.end();
    expect(summary.error).toBeUndefined();
    expect(written).toBeGreaterThan(0);
    await db.execute("INSERT INTO items VALUES (200000, 'after the backup')");

    const file = (summary.result as BackupResult).file as string;
    const manifest = JSON.parse(fs.readFileSync(`${file}.manifest.json`, 'utf8'));
    const { binlogFile, binlogPosition, gtid } = manifest.snapshot as Record<string, unknown>;
    expect(binlogFile).toMatch(/^binlog\.\d{6}$/);
    expect(binlogPosition).toBeGreaterThan(4);
    expect(gtid).toMatch(/^\d+-1-\d+$/);

    const live = client(['-N', '-e', 'SELECT id, body FROM items ORDER BY id', database]);
    // The binary logs from the recorded one on, closed before the restore writes its own events.
    const logs = fs
      .readdirSync(server.dataDir)
      .filter((n) => /^binlog\.\d{6}$/.test(n) && n >= String(binlogFile))
      .sort()
      .map((n) => path.join(server.dataDir, n));
    client(['-e', `FLUSH BINARY LOGS; DROP DATABASE ${database}; CREATE DATABASE ${database}`]);
    execFileSync('sh', [
      '-c',
      'gunzip -c "$1" | mariadb --socket "$2" -u root "$3"',
      'sh',
      file,
      server.socket,
      database,
    ]);
    // The app's table only: webjobs' own bookkeeping tables are not part of the dump.
    const replay = execFileSync('mariadb-binlog', [`--start-position=${binlogPosition}`, '--table=items', ...logs], {
      maxBuffer: 256 * 1024 * 1024,
    }).toString();
    client([database], replay);
    expect(client(['-N', '-e', 'SELECT id, body FROM items ORDER BY id', database])).toBe(live);
  }, 120_000);
});
