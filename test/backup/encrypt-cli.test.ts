import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connect.js';
import { checksumTables } from '../../src/db/dump/index.js';
import { runCli, startCli } from '../support/cli.js';
import { ENGINES, mariadbDatabase, mariadbServer, tempDir, type TestDatabase } from '../support/databases.js';
import { demoDatabase } from '../support/fixtures.js';
import { ageKey, type AgeKey } from './age-key.js';

/** Restores a stream of SQL text with the engine's stock client, as an operator would. */
function stockRestore(engine: 'sqlite' | 'mariadb', decryptAndGunzip: string, target: string): void {
  if (engine === 'sqlite') {
    execFileSync('sh', ['-c', `${decryptAndGunzip} | sqlite3 "$T"`], { env: { ...process.env, T: target } });
    return;
  }
  const s = mariadbServer();
  execFileSync('sh', ['-c', `${decryptAndGunzip} | mariadb -h 127.0.0.1 -P "$P" -u "$U" "$T"`], {
    env: { ...process.env, MYSQL_PWD: s.password, P: String(s.port), U: s.user, T: target },
  });
}

/** True when any file under `dir` (raw, or gunzipped if it is gzip) holds SQL text. */
function anyPlaintext(dir: string): string | null {
  for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(path.join(dir, name));
    } catch {
      continue; // renamed or removed between the listing and the read
    }
    if (bytes.includes('INSERT INTO') || bytes.includes('CREATE TABLE')) return name;
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
      try {
        const text = gunzipSync(bytes, { finishFlush: 2 /* Z_SYNC_FLUSH: read a partial file too */ });
        if (text.includes('INSERT INTO') || text.includes('CREATE TABLE')) return name;
      } catch {
        /* not gzip after all */
      }
    }
  }
  return null;
}

describe.each(ENGINES)('encrypted backups (age) on $engine', ({ engine, create }) => {
  let t: TestDatabase;
  let work: string;
  let key: AgeKey;
  let config: string;
  beforeAll(async () => {
    t = await create();
    await demoDatabase(t.db, 3000);
    work = tempDir('webjobs-age-cli-');
    key = ageKey(work, 'key.txt');
    config = path.join(work, 'webjobs.json');
    fs.writeFileSync(config, JSON.stringify({ backup: { encrypt: { recipients: [key.recipient] } } }));
  });
  afterAll(async () => {
    await t?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  const cli = (args: string[]) => runCli(args, { cwd: work, env: { DATABASE_URL: t.url } });

  async function newTarget(): Promise<{ url: string; location: string; cleanup: () => Promise<void> }> {
    if (engine === 'sqlite') {
      const file = path.join(work, `restored-${Math.random().toString(36).slice(2)}.sqlite`);
      return { url: `sqlite:${file}`, location: file, cleanup: async () => fs.rmSync(file, { force: true }) };
    }
    const m = await mariadbDatabase('wjage');
    await m.db.close();
    return { url: m.url, location: m.location, cleanup: m.cleanup };
  }

  async function sameData(url: string, tables: string[]): Promise<void> {
    const restored = await openDatabase(url);
    try {
      expect(await checksumTables(restored, tables)).toEqual(await checksumTables(t.db, tables));
    } finally {
      await restored.close();
    }
  }

  it('writes backup_*.sql.gz.age (0600, no plaintext), verified with --identity; age -d | gunzip | the stock client restores it identically', async () => {
    const out = path.join(work, 'full');
    const r = await cli([
      'backup-db',
      '--type',
      'full',
      '--out',
      out,
      '--config',
      config,
      '--verify',
      '--identity',
      key.file,
      '--json',
    ]);
    expect(r.stderr).toContain('verified');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(path.basename(s.result.file)).toMatch(/^backup_full_\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}\.sql\.gz\.age$/);
    expect(s.result.encryptedTo).toEqual([key.recipient]);
    expect(s.result.verified.ok).toBe(true);
    expect(fs.statSync(s.result.file).mode & 0o777).toBe(0o600);
    expect(anyPlaintext(out)).toBeNull();

    const target = await newTarget();
    try {
      stockRestore(engine, `age -d -i "${key.file}" "${s.result.file}" | gunzip`, target.location);
      await sameData(target.url, s.result.tables);
    } finally {
      await target.cleanup();
    }

    // restore-db: without a key it refuses with one line (exit 2); with it the data is back.
    const target2 = await newTarget();
    try {
      const refused = await cli(['restore-db', s.result.file, '--db', target2.url]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/is encrypted: pass --identity/);
      const restored = await cli(['restore-db', s.result.file, '--db', target2.url, '--identity', key.file]);
      expect(restored.stderr).toContain('restored');
      expect(restored.code).toBe(0);
      await sameData(target2.url, s.result.tables);
    } finally {
      await target2.cleanup();
    }
  });

  it('restore-db decrypts a file the stock age CLI encrypted (config backup.encrypt.identityFile)', async () => {
    const out = path.join(work, 'plain');
    const r = await cli(['backup-db', '--type', 'critical', '--out', out, '--json']);
    expect(r.code).toBe(0);
    const plain = JSON.parse(r.stdout).result.file as string;
    expect(plain).toMatch(/\.sql\.gz$/);
    const enc = `${plain}.age`;
    execFileSync('age', ['-r', key.recipient, '-o', enc, plain]);
    const withKey = path.join(work, 'with-key.json');
    fs.writeFileSync(withKey, JSON.stringify({ backup: { encrypt: { identityFile: key.file } } }));
    const target = await newTarget();
    try {
      const restored = await cli(['restore-db', enc, '--db', target.url, '--config', withKey, '--json']);
      expect(restored.code).toBe(0);
      await sameData(target.url, JSON.parse(restored.stdout).tables);
    } finally {
      await target.cleanup();
    }
  });

  it('an unusable recipient, or --verify without a matching key, is exit 2 before anything is read or written', async () => {
    const other = ageKey(work, `other-${engine}.txt`);
    const cases: Array<[object, string[], RegExp]> = [
      [{ recipients: ['age1notakey'] }, [], /backup\.encrypt\.recipients\[0\] is not a usable age recipient/],
      [{ recipients: [] }, [], /backup\.encrypt\.recipients is empty/],
      [{ recipients: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI'] }, [], /SSH key/],
      [{ recipients: [key.recipient] }, ['--verify'], /needs the secret key/],
      [{ recipients: [key.recipient] }, ['--verify', '--identity', other.file], /matches none/],
    ];
    for (const [encrypt, extra, message] of cases) {
      const cfg = path.join(work, 'bad.json');
      const out = path.join(work, 'bad-out');
      fs.writeFileSync(cfg, JSON.stringify({ backup: { encrypt } }));
      const r = await cli(['backup-db', '--type', 'full', '--out', out, '--config', cfg, ...extra]);
      expect(r.stderr).toMatch(message);
      expect(r.code).toBe(2);
      expect(fs.existsSync(out) ? fs.readdirSync(out) : []).toEqual([]);
    }
  });

  it('never plaintext on disk: watched while it runs, and after a SIGKILL mid-dump', async () => {
    const out = path.join(work, 'watched');
    const run = startCli(['backup-db', '--type', 'full', '--out', out, '--config', config, '--level', '9'], {
      cwd: work,
      env: { DATABASE_URL: t.url },
    });
    let seen: string | null = null;
    let looks = 0;
    let killed = false;
    const watch = setInterval(() => {
      const names = fs.existsSync(out) ? fs.readdirSync(out) : [];
      if (names.length) looks++;
      seen ??= anyPlaintext(out);
      // Kill it once a temporary file has some content: the failure case leaves what it had written.
      if (!killed && names.some((n) => n.endsWith('.tmp') && fs.statSync(path.join(out, n)).size > 0)) {
        killed = true;
        run.child.kill('SIGKILL');
      }
    }, 2);
    const res = await run.done;
    clearInterval(watch);
    seen ??= anyPlaintext(out);
    expect(looks).toBeGreaterThan(0);
    expect(seen).toBeNull();
    // Killed mid-write (or, on a fast machine, finished): either way nothing readable as SQL.
    expect(killed || res.code === 0).toBe(true);
  });
});
