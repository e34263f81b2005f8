import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/types.js';
import { cleanupTokensJob, type CleanupTokensResult } from '../../src/jobs/cleanup-tokens/index.js';
import { parseRetentionRules } from '../../src/jobs/cleanup-tokens/retention-rules.js';
import { runJob } from '../../src/runner/runner.js';
import { ManualClock } from '../../src/util/clock.js';
import { ROOT } from '../support/cli.js';
import { ENGINES, tempDir, type TestDatabase } from '../support/databases.js';
import { testEnvironment } from '../support/environment.js';
import { buildFixture, daysAgo, localAgo, NOW, NOW_MS } from './fixture.js';

/** The first ```json block under a `### heading` of docs/cleanup-tokens.md, parsed. */
function documentedConfig(heading: string): Record<string, unknown> {
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'cleanup-tokens.md'), 'utf8');
  const section = doc.split('\n### ').find((s) => s.startsWith(heading));
  const block = section?.match(/```json\n([\s\S]*?)\n```/)?.[1];
  if (!block) throw new Error(`no JSON block under "### ${heading}" in docs/cleanup-tokens.md`);
  return JSON.parse(block) as Record<string, unknown>;
}
const SEED_001 = documentedConfig("Seed 001's policy as configuration");
const SEED_003 = documentedConfig("Seed 003's maintenance side");
const rulesOf = (config: Record<string, unknown>) => (config.retention as { rules: unknown }).rules;

/** The tables the documented rules name (as Prisma and Laravel create them), both dialects. */
async function createDocumentedTables(db: Db): Promise<void> {
  const q = (n: string) => db.quote(n);
  const id = db.dialect === 'sqlite' ? 'INTEGER PRIMARY KEY' : 'BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY';
  const dt = db.dialect === 'sqlite' ? 'TEXT' : 'DATETIME';
  const str = db.dialect === 'sqlite' ? 'TEXT' : 'VARCHAR(191)';
  const tables: Array<[string, string[]]> = [
    ['Rollback', [`${q('createdAt')} ${dt}`]],
    ['Job', [`${q('status')} ${str}`, `${q('completedAt')} ${dt}`, `${q('failedAt')} ${dt}`]],
    ['Notification', [`${q('read')} INTEGER NOT NULL DEFAULT 0`, `${q('createdAt')} ${dt}`]],
    ['AuditLog', [`${q('severity')} ${str}`, `${q('createdAt')} ${dt}`]],
    ['CsrfToken', [`${q('token')} ${str}`, `${q('expiresAt')} ${dt}`]],
    ['CrawlRecord', [`${q('createdAt')} ${dt}`]],
    ['failed_jobs', [`${q('queue')} ${str}`, `${q('failed_at')} ${dt}`]],
    ['downloads', [`${q('file_path')} ${str}`, `${q('file_size_bytes')} BIGINT`, `${q('expires_at')} ${dt}`]],
  ];
  for (const [name, columns] of tables)
    await db.execute(`CREATE TABLE ${q(name)} (${q('id')} ${id}, ${columns.join(', ')})`);
}

async function insert(db: Db, table: string, rows: Array<Record<string, unknown>>): Promise<void> {
  for (const row of rows) {
    const cols = Object.keys(row);
    await db.execute(
      `INSERT INTO ${db.quote(table)} (${cols.map((c) => db.quote(c)).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`,
      Object.values(row),
    );
  }
}

const ids = async (db: Db, table: string) =>
  (await db.query<{ id: number }>(`SELECT ${db.quote('id')} AS id FROM ${db.quote(table)} ORDER BY 1`)).map((r) =>
    Number(r.id),
  );

describe('the retention examples in docs/cleanup-tokens.md', () => {
  it('parse as valid rules, days 0 included', () => {
    expect(parseRetentionRules(rulesOf(SEED_001)).map((r) => [r.name, r.days])).toEqual([
      ['rollbacks', 90],
      ['completed-jobs', 30],
      ['failed-jobs', 30],
      ['read-notifications', 60],
      ['audit-logs', 365],
      ['csrf-tokens', 0],
      ['crawl-records', 90],
    ]);
    expect(parseRetentionRules(rulesOf(SEED_003)).map((r) => r.name)).toEqual([
      'failed-queue-jobs',
      'expired-downloads',
    ]);
    expect(() => parseRetentionRules([{ table: 't', column: 'c', days: -1 }])).toThrow(/from 0 to 36500/);
  });
});

describe.each(ENGINES)('the documented retention examples run on $engine', ({ create }) => {
  let t: TestDatabase;
  let work: string;
  beforeAll(async () => {
    t = await create();
    work = tempDir('webjobs-documented-rules-');
    await buildFixture(t.db);
    await createDocumentedTables(t.db);
  });
  afterAll(async () => {
    await t?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });
  const run = async (config: Record<string, unknown>) => {
    const env = testEnvironment({ db: t.db, url: t.url, config, clock: new ManualClock(NOW), baseDir: work });
    const summary = await runJob(cleanupTokensJob, {}, env, { dryRun: false, args: {} });
    return summary.result as CleanupTokensResult;
  };

  it('seed 001: each rule removes exactly its rows; CSRF tokens go the moment they expire', async () => {
    const db = t.db;
    await insert(db, 'Rollback', [
      { id: 1, createdAt: daysAgo(91) },
      { id: 2, createdAt: daysAgo(89) },
    ]);
    await insert(db, 'Job', [
      { id: 1, status: 'COMPLETED', completedAt: daysAgo(31) },
      { id: 2, status: 'COMPLETED', completedAt: daysAgo(29) },
      { id: 3, status: 'FAILED', failedAt: daysAgo(31) },
      { id: 4, status: 'RUNNING', completedAt: daysAgo(40), failedAt: daysAgo(40) },
    ]);
    await insert(db, 'Notification', [
      { id: 1, read: 1, createdAt: daysAgo(61) },
      { id: 2, read: 0, createdAt: daysAgo(61) },
      { id: 3, read: 1, createdAt: daysAgo(59) },
    ]);
    await insert(db, 'AuditLog', [
      { id: 1, severity: 'info', createdAt: daysAgo(366) },
      { id: 2, severity: 'critical', createdAt: daysAgo(366) },
      { id: 3, severity: 'info', createdAt: daysAgo(364) },
    ]);
    await insert(db, 'CsrfToken', [
      { id: 1, token: 'a', expiresAt: localAgo(1000) }, // expired a second ago
      { id: 2, token: 'b', expiresAt: localAgo(-60_000) }, // expires in a minute
      { id: 3, token: 'c', expiresAt: localAgo(0) }, // expires now: not past yet
    ]);
    await insert(db, 'CrawlRecord', [
      { id: 1, createdAt: daysAgo(91) },
      { id: 2, createdAt: daysAgo(1) },
    ]);

    const result = await run(SEED_001);
    expect(result.failedSteps).toEqual([]);
    expect(result.breakdown).toMatchObject({
      'retention:rollbacks': 1,
      'retention:completed-jobs': 1,
      'retention:failed-jobs': 1,
      'retention:read-notifications': 1,
      'retention:audit-logs': 1,
      'retention:csrf-tokens': 1,
      'retention:crawl-records': 1,
    });
    expect(await ids(db, 'Rollback')).toEqual([2]);
    expect(await ids(db, 'Job')).toEqual([2, 4]);
    expect(await ids(db, 'Notification')).toEqual([2, 3]);
    expect(await ids(db, 'AuditLog')).toEqual([2, 3]);
    expect(await ids(db, 'CsrfToken')).toEqual([2, 3]);
    expect(await ids(db, 'CrawlRecord')).toEqual([2]);
  });

  it('seed 003: failed jobs after 30 days, expired downloads lose their file, old archives leave the disk', async () => {
    const db = t.db;
    await insert(db, 'failed_jobs', [
      { id: 1, queue: 'emails', failed_at: daysAgo(31) },
      { id: 2, queue: 'photos', failed_at: daysAgo(29) },
    ]);
    await insert(db, 'downloads', [
      { id: 1, file_path: 'downloads/old.zip', file_size_bytes: 10, expires_at: daysAgo(8) },
      { id: 2, file_path: 'downloads/live.zip', file_size_bytes: 20, expires_at: localAgo(-3_600_000) },
      { id: 3, file_path: null, file_size_bytes: null, expires_at: daysAgo(20) },
    ]);
    const downloads = path.join(work, 'storage/app/downloads');
    fs.mkdirSync(downloads, { recursive: true });
    const zip = (name: string, ageDays: number) => {
      const p = path.join(downloads, name);
      fs.writeFileSync(p, 'PK');
      const at = new Date(NOW_MS - ageDays * 86_400_000);
      fs.utimesSync(p, at, at);
      return p;
    };
    const old = zip('old.zip', 8);
    const live = zip('live.zip', 2);

    const result = await run(SEED_003);
    expect(result.failedSteps).toEqual([]);
    expect(result.breakdown).toMatchObject({ 'retention:failed-queue-jobs': 1, 'retention:expired-downloads': 1 });
    expect(await ids(db, 'failed_jobs')).toEqual([2]);
    const rows = await db.query<{ id: number; f: string | null; n: number | null }>(
      `SELECT ${db.quote('id')} AS id, ${db.quote('file_path')} AS f, ${db.quote('file_size_bytes')} AS n FROM ${db.quote('downloads')} ORDER BY 1`,
    );
    expect(rows.map((r) => [Number(r.id), r.f, r.n === null ? null : Number(r.n)])).toEqual([
      [1, null, null],
      [2, 'downloads/live.zip', 20],
      [3, null, null],
    ]);
    expect(fs.existsSync(old)).toBe(false);
    expect(fs.existsSync(live)).toBe(true);
  });
});
