import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestFile } from '../../src/backup/sha256.js';
import { runCli } from '../support/cli.js';
import { ENGINES, tempDir, type TestDatabase } from '../support/databases.js';
import { demoDatabase } from '../support/fixtures.js';
import { ageKey } from './age-key.js';
import { startS3Server, startSftpServer, type S3Server, type SftpServer } from './servers.js';

/** Every string the runs printed or recorded, to look for a credential in. */
async function everythingSaid(t: TestDatabase, outputs: string[]): Promise<string> {
  const runs = await t.db.query<Record<string, unknown>>('SELECT * FROM webjobs_runs');
  return outputs.join('\n') + JSON.stringify(runs);
}

describe.each(ENGINES)('backup-db with S3 and SFTP remotes on $engine', ({ engine, create }) => {
  let t: TestDatabase;
  let work: string;
  let s3: S3Server;
  let sftp: SftpServer;
  let config: string;
  let env: NodeJS.ProcessEnv;
  const prefix = `nightly-${engine}`;

  beforeAll(async () => {
    t = await create();
    await demoDatabase(t.db, 1500);
    work = tempDir('webjobs-remotes-cli-');
    [s3, sftp] = await Promise.all([startS3Server(), startSftpServer()]);
    const key = ageKey(work, 'key.txt');
    // SQLite takes the S3 keys from config, MariaDB from the usual AWS_* variables.
    const s3Config =
      engine === 'sqlite'
        ? { endpoint: s3.endpoint, ...s3.credentials }
        : { endpoint: s3.endpoint, region: 'eu-west-1' };
    env =
      engine === 'sqlite'
        ? { DATABASE_URL: t.url }
        : {
            DATABASE_URL: t.url,
            AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
            AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
          };
    config = path.join(work, 'webjobs.json');
    fs.writeFileSync(
      config,
      JSON.stringify({
        backup: {
          dir: path.join(work, 'local'),
          encrypt: { recipients: [key.recipient], identityFile: key.file },
          remotes: [`s3://${s3.bucket}/${prefix}`, sftp.url('offsite')],
          s3: s3Config,
          sftp: { keyFile: sftp.keyFile, knownHostsFile: sftp.knownHostsFile },
          remoteRetry: { tries: 2, backoffSeconds: [0] },
        },
      }),
    );
  });
  afterAll(async () => {
    await t?.cleanup();
    await Promise.all([s3?.cleanup(), sftp?.cleanup()]);
    fs.rmSync(work, { recursive: true, force: true });
  });

  const cli = (args: string[]) => runCli([...args, '--config', config], { cwd: work, env });
  const outputs: string[] = [];

  it('full --verify: the encrypted file is local and on both remotes with the same SHA-256; backups lists them side by side', async () => {
    const r = await cli(['backup-db', '--type', 'full', '--verify', '--json']);
    outputs.push(r.stdout, r.stderr);
    expect(r.stderr).toContain('SHA-256 checked');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    const name = path.basename(s.result.file);
    expect(name).toMatch(/\.sql\.gz\.age$/);
    const local = await digestFile(s.result.file);
    expect(s.result.remotes).toEqual([
      expect.objectContaining({ remote: `s3://${s3.bucket}/${prefix}`, ok: true, sha256: local.sha256 }),
      expect.objectContaining({ remote: sftp.url('offsite'), ok: true, sha256: local.sha256 }),
    ]);
    expect(await digestFile(s3.objectPath(`${prefix}/${name}`))).toEqual(local);
    expect(await digestFile(path.join(sftp.dir, 'offsite', name))).toEqual(local);

    // A copy that exists only on the remotes shows up too.
    const older = 'backup_full_2020-01-01_03-00-00.sql.gz'; // older than today's full: nothing stale
    fs.writeFileSync(path.join(sftp.dir, 'offsite', older), 'x');
    const list = await cli(['backups', '--json']);
    outputs.push(list.stdout, list.stderr);
    expect(list.code).toBe(0);
    const listed = JSON.parse(list.stdout);
    expect(listed.backups.find((b: { name: string }) => b.name === name)).toMatchObject({
      file: s.result.file,
      remotes: { [`s3://${s3.bucket}/${prefix}`]: local.bytes, [sftp.url('offsite')]: local.bytes },
    });
    expect(listed.backups.find((b: { name: string }) => b.name === older)).toMatchObject({
      file: null,
      remotes: { [sftp.url('offsite')]: 1 },
    });
    const human = await cli(['backups']);
    expect(human.stdout).toContain(`copies: local, s3://${s3.bucket}/${prefix}, ${sftp.url('offsite')}`);
    fs.rmSync(path.join(sftp.dir, 'offsite', older));
  });

  it('a stopped S3 server fails the run with exit 1 naming it; the local file and the SFTP copy are kept; no credential anywhere', async () => {
    await s3.stop();
    const r = await cli(['backup-db', '--type', 'critical', '--json']);
    outputs.push(r.stdout, r.stderr);
    expect(r.code).toBe(1);
    const s = JSON.parse(r.stdout);
    expect(s.status).toBe('failed');
    expect(s.error).toContain(`off-site copy failed: s3://${s3.bucket}/${prefix}`);
    expect(s.error).not.toContain('sftp://');
    const name = path.basename(s.result.file);
    expect(fs.existsSync(s.result.file)).toBe(true);
    expect(fs.existsSync(path.join(sftp.dir, 'offsite', name))).toBe(true);
    expect(s.result.remotes.map((c: { ok: boolean }) => c.ok)).toEqual([false, true]);

    const list = await cli(['backups', '--json']);
    outputs.push(list.stdout, list.stderr);
    expect(list.code).toBe(1);
    expect(JSON.parse(list.stdout).remotes[0]).toMatchObject({ remote: `s3://${s3.bucket}/${prefix}` });
    expect(JSON.parse(list.stdout).remotes[0].error).toBeTruthy();

    const said = await everythingSaid(t, outputs);
    expect(said).not.toContain(s3.credentials.secretAccessKey);
  });
});
