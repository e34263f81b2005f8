import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { inject } from 'vitest';
import { openDatabase } from '../../src/db/connect.js';
import type { Db } from '../../src/db/types.js';

export interface TestDatabase {
  engine: 'sqlite' | 'mariadb';
  url: string;
  db: Db;
  /** SQLite: the file. MariaDB: the database name. */
  location: string;
  cleanup(): Promise<void>;
}

export function tempDir(prefix = 'webjobs-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function sqliteDatabase(): Promise<TestDatabase> {
  const dir = tempDir();
  const file = path.join(dir, 'app.sqlite');
  const url = `sqlite:${file}`;
  const db = await openDatabase(url);
  return {
    engine: 'sqlite',
    url,
    db,
    location: file,
    cleanup: async () => {
      await db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh database on the private MariaDB server that global setup started. */
export async function mariadbDatabase(prefix = 'wj'): Promise<TestDatabase> {
  const server = inject('mariadb');
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = await mysql.createConnection({
    host: '127.0.0.1',
    port: server.port,
    user: server.user,
    password: server.password,
  });
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.end();
  const url = `${server.url}${name}`;
  const db = await openDatabase(url);
  return {
    engine: 'mariadb',
    url,
    db,
    location: name,
    cleanup: async () => {
      await db.close();
      const c = await mysql.createConnection({
        host: '127.0.0.1',
        port: server.port,
        user: server.user,
        password: server.password,
      });
      await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await c.end();
    },
  };
}

/** Both engines, for `describe.each(ENGINES)`. */
export const ENGINES = [
  { engine: 'sqlite' as const, create: sqliteDatabase },
  { engine: 'mariadb' as const, create: mariadbDatabase },
];

export function mariadbServer() {
  return inject('mariadb');
}
