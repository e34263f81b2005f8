import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteDb } from '../../src/db/sqlite.js';
import { backupDbJob, type BackupResult } from '../../src/jobs/backup-db/index.js';
import { runJob } from '../../src/runner/runner.js';
import type { RunSummary } from '../../src/runner/runner.js';
import { runCli } from '../support/cli.js';
import { tempDir } from '../support/databases.js';
import { testEnvironment } from '../support/environment.js';

/** Virtual tables of the kinds web apps use: full-text search (own content, external content, contentless) and R*Tree. */
function buildFixture(file: string): void {
  const raw = new Database(file);
  raw.exec(`
    CREATE TABLE articles (id INTEGER PRIMARY KEY, title TEXT, body TEXT);
    CREATE VIRTUAL TABLE search USING fts5(title, body, tokenize = 'porter unicode61');
    CREATE VIRTUAL TABLE article_index USING fts5(title, body, content='articles', content_rowid='id');
    CREATE VIRTUAL TABLE tags_only USING fts5(tag, content='');
    CREATE VIRTUAL TABLE places USING rtree(id, min_x, max_x, min_y, max_y, +name);
    CREATE VIEW article_titles AS SELECT title FROM articles;
  `);
  const words = ['backup', 'restore', 'snapshot', 'gzip', 'cron', 'mariadb', 'sqlite', 'retention', 'über', 'naïve'];
  const insert = raw.prepare('INSERT INTO articles (id, title, body) VALUES (?, ?, ?)');
  const fts = raw.prepare('INSERT INTO search (rowid, title, body) VALUES (?, ?, ?)');
  for (let i = 1; i <= 500; i++) {
    const title = `${words[i % 10]} note ${i}`;
    const body = Array.from({ length: 20 }, (_, j) => words[(i * 7 + j * 3) % 10]).join(' ') + ` 'q' ${i}`;
    insert.run(i * 3, title, body); // rowid gaps the index must keep
    fts.run(i * 3, title, body);
  }
  raw.exec("INSERT INTO article_index(article_index) VALUES('rebuild')");
  raw.exec("INSERT INTO tags_only (rowid, tag) VALUES (1, 'alpha'), (2, 'beta')");
  const place = raw.prepare('INSERT INTO places VALUES (?, ?, ?, ?, ?, ?)');
  for (let i = 1; i <= 200; i++) place.run(i, i * 0.1, i * 0.1 + 1.5, -i * 0.37, -i * 0.37 + 2.25, `place ${i}`);
  raw.close();
}

/** Queries the indexes answer: the restore must answer them the same. */
const QUERIES = [
  "SELECT rowid, title FROM search WHERE search MATCH 'title:snapshot OR title:cron' ORDER BY rank, rowid",
  "SELECT rowid, highlight(search, 0, '[', ']') FROM search WHERE search MATCH 'title:über' ORDER BY rowid",
  "SELECT rowid FROM search WHERE search MATCH 'restor*' ORDER BY rowid",
  "SELECT rowid, title FROM article_index WHERE article_index MATCH 'title:gzip NOT title:mariadb' ORDER BY rank, rowid",
  'SELECT id, name FROM places WHERE min_x <= 5.0 AND max_x >= 4.0 AND min_y <= -10 AND max_y >= -12 ORDER BY id',
  'SELECT id, min_x, max_x, min_y, max_y FROM places ORDER BY id',
  'SELECT count(*) FROM article_titles',
];

function answers(file: string): unknown[] {
  const raw = new Database(file, { readonly: true });
  try {
    return QUERIES.map((q) => raw.prepare(q).raw(true).all());
  } finally {
    raw.close();
  }
}

describe('backup-db on SQLite: virtual tables by their definition and content, never their shadow tables', () => {
  let work: string;
  let source: string;
  let summary: RunSummary;
  let result: BackupResult;

  beforeAll(async () => {
    work = tempDir();
    source = path.join(work, 'app.sqlite');
    buildFixture(source);
    const db = SqliteDb.open(source);
    const env = testEnvironment({ db, config: { backup: { dir: path.join(work, 'out') } } });
    summary = await runJob(backupDbJob, { type: 'full', verify: true }, env, { dryRun: false, args: {} });
    await db.close();
    result = summary.result as BackupResult;
  }, 120_000);

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('takes the virtual tables, not their shadow tables, and verifies', () => {
    expect(summary.error).toBeUndefined();
    expect(result.tables).toEqual(['article_index', 'articles', 'places', 'search', 'tags_only']);
    expect(result.verified?.ok).toBe(true);
    const sql = gunzipSync(fs.readFileSync(result.file as string)).toString('utf8');
    expect(sql).toContain('CREATE VIRTUAL TABLE search USING fts5(');
    expect(sql).toContain('CREATE VIRTUAL TABLE places USING rtree(');
    expect(sql).not.toMatch(/CREATE TABLE ['"]?(search|article_index|tags_only|places)_/);
    expect(sql).not.toMatch(/INSERT INTO ['"]?(search|article_index|tags_only|places)_/);
    expect(sql).toContain(`INSERT INTO "article_index"("article_index") VALUES('rebuild');`);
  });

  it('warns that a contentless index is kept by its definition only', () => {
    expect(summary.warnings).toContainEqual(expect.stringMatching(/^virtual table tags_only: only its definition/));
  });

  it('restores with the real sqlite3 client and answers the same queries', () => {
    const restored = path.join(work, 'restored.sqlite');
    execFileSync('sh', ['-c', 'gunzip -c "$1" | sqlite3 -bail "$2"', 'sh', result.file as string, restored]);
    const expected = answers(source);
    for (const a of expected) expect((a as unknown[]).length).toBeGreaterThan(0);
    expect(answers(restored)).toEqual(expected);
    const check = new Database(restored);
    try {
      // The rebuilt indexes are sound, and keep working for new rows.
      check.exec("INSERT INTO search(search) VALUES('integrity-check')");
      check.exec("INSERT INTO article_index(article_index) VALUES('integrity-check')");
      check.exec("INSERT INTO search (title, body) VALUES ('fresh', 'zebra')");
      expect(check.prepare("SELECT title FROM search WHERE search MATCH 'zebra'").pluck().all()).toEqual(['fresh']);
    } finally {
      check.close();
    }
  });

  it('backup.critical naming a view or a shadow table: exit 2 with one clear line', async () => {
    for (const [name, what] of [
      ['article_titles', 'a view'],
      ['search_data', 'a shadow table of a virtual table'],
    ]) {
      fs.writeFileSync(path.join(work, 'c.json'), JSON.stringify({ backup: { critical: ['articles', name] } }));
      const r = await runCli(['backup-db', '--config', 'c.json', '--out', path.join(work, 'critical')], {
        cwd: work,
        env: { DATABASE_URL: `sqlite:${source}` },
      });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`config backup.critical names ${name}, which is ${what}: list tables only`);
      expect(fs.existsSync(path.join(work, 'critical'))).toBe(false);
    }
  });
});
