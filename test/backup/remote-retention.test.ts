import fs from 'node:fs';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupDbJob, type BackupResult } from '../../src/jobs/backup-db/index.js';
import { runJob } from '../../src/runner/runner.js';
import { ManualClock } from '../../src/util/clock.js';
import { runCli } from '../support/cli.js';
import { ENGINES, tempDir, type TestDatabase } from '../support/databases.js';
import { testEnvironment } from '../support/environment.js';
import { ageKey } from './age-key.js';
import { startS3Server, startSftpServer, type S3Server, type SftpServer } from './servers.js';

const RETENTION = {
  critical: { keepDaily: 5, keepWeekly: 3 },
  full: { keepWeekly: 2, keepMonthly: 2 },
};

/** What the GFS rules keep of 30 days (Nov 2 – Dec 1) of daily critical and Sunday full runs. */
const KEPT = [
  'backup_critical_2026-11-22_03-00-00',
  'backup_critical_2026-11-27_03-00-00',
  'backup_critical_2026-11-28_03-00-00',
  'backup_critical_2026-11-29_03-00-00',
  'backup_critical_2026-11-30_03-00-00',
  'backup_critical_2026-12-01_03-00-00',
  'backup_full_2026-11-22_04-00-00',
  'backup_full_2026-11-29_04-00-00',
].map((stem) => `${stem}.sql.gz.age`);

/** Not webjobs' files, in the same bucket prefix and folder: retention must leave them. */
const FOREIGN = ['notes.txt', 'backup_critical_2026-11-01_03-00-00.sql.gz.bak'];

const listFolder = (dir: string) => fs.readdirSync(dir).sort();

function listBucket(s3: S3Server, prefix: string): string[] {
  const folder = path.dirname(s3.objectPath(`${prefix}/x`));
  return fs
    .readdirSync(folder)
    .filter((n) => n.endsWith('._S3rver_object'))
    .map((n) => n.slice(0, -'._S3rver_object'.length))
    .sort();
}

const withManifests = (names: string[]) => names.flatMap((n) => [n, `${n}.manifest.json`]).sort();

describe.each(ENGINES)(
  'GFS retention on S3 and SFTP remotes, 30 days of encrypted runs on $engine',
  ({ engine, create }) => {
    let t: TestDatabase;
    let work: string;
    let dir: string;
    let s3: S3Server;
    let sftp: SftpServer;
    let configFile: string;
    let keyFile: string;
    let lastCritical: BackupResult;
    const prefix = `gfs-${engine}`;
    const s3Url = () => `s3://${s3.bucket}/${prefix}`;
    const sftpDir = () => path.join(sftp.dir, `gfs-${engine}`);

    beforeAll(async () => {
      t = await create();
      await t.db.execute('CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(20))');
      await t.db.execute("INSERT INTO users VALUES (1, 'ada')");
      work = tempDir('webjobs-remote-gfs-');
      dir = path.join(work, 'backups');
      [s3, sftp] = await Promise.all([startS3Server(), startSftpServer()]);
      const key = ageKey(work, 'key.txt');
      keyFile = key.file;
      const config = {
        timezone: 'UTC',
        backup: {
          dir,
          critical: ['users'],
          retention: RETENTION,
          encrypt: { recipients: [key.recipient] },
          remotes: [s3Url(), sftp.url(`gfs-${engine}`)],
          s3: { endpoint: s3.endpoint, ...s3.credentials },
          sftp: { keyFile: sftp.keyFile, knownHostsFile: sftp.knownHostsFile },
          remoteRetry: { tries: 1, backoffSeconds: [0] },
        },
      };
      configFile = path.join(work, 'webjobs.json');
      fs.writeFileSync(configFile, JSON.stringify(config));
      const clock = new ManualClock('2026-11-02T03:00:00Z'); // a Monday
      const runs = async (type: 'critical' | 'full') => {
        const env = testEnvironment({ db: t.db, url: t.url, config, clock });
        const summary = await runJob(backupDbJob, { type }, env, { dryRun: false, args: {} });
        expect(summary.error).toBeUndefined();
        return summary.result as BackupResult;
      };
      for (let day = 0; day < 30; day++) {
        clock.set(new Date(Date.parse('2026-11-02T03:00:00Z') + day * 86_400_000));
        lastCritical = await runs('critical');
        if (day === 0) {
          // Foreign files beside the first copies: in the bucket's prefix and the SFTP folder.
          const client = new S3Client({
            endpoint: s3.endpoint,
            region: 'us-east-1',
            forcePathStyle: true,
            credentials: s3.credentials,
          });
          for (const name of FOREIGN) {
            await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${prefix}/${name}`, Body: 'not ours' }));
            fs.writeFileSync(path.join(sftpDir(), name), 'not ours');
          }
          client.destroy();
        }
        if (clock.now().getUTCDay() === 0) {
          clock.advance(3_600_000);
          await runs('full');
        }
      }
    }, 600_000);

    afterAll(async () => {
      await t?.cleanup();
      await Promise.all([s3?.cleanup(), sftp?.cleanup()]);
      if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    const cli = (args: string[]) =>
      runCli([...args, '--config', configFile], {
        cwd: work,
        env: { DATABASE_URL: t.url, WEBJOBS_NOW: '2026-12-01T05:00:00Z' },
      });

    it('leaves on each remote exactly the files the rules keep locally, manifests with them; foreign files untouched', () => {
      expect(listFolder(dir)).toEqual(withManifests(KEPT));
      expect(listFolder(sftpDir())).toEqual([...withManifests(KEPT), ...FOREIGN].sort());
      // s3rver stores keys with a metadata file beside each object; the objects are what counts.
      expect(listBucket(s3, prefix)).toEqual([...withManifests(KEPT), ...FOREIGN].sort());
    });

    it("the last critical run's summary shows each remote's decisions, for its own type only", () => {
      const remotes = lastCritical.retention.remotes ?? [];
      expect(remotes.map((r) => r.remote)).toEqual([s3Url(), sftp.url(`gfs-${engine}`)]);
      for (const r of remotes) {
        expect(r.error).toBeUndefined();
        expect(r.deleted).toEqual(['backup_critical_2026-11-26_03-00-00.sql.gz.age']);
        expect(r.decisions.every((d) => d.name.startsWith('backup_critical_'))).toBe(true);
      }
    });

    it('backups --check --all passes on the folder and both remotes (decrypted with --identity); a flipped byte in a remote copy is exit 1 naming it', async () => {
      const ok = await cli(['backups', '--check', '--all', '--identity', keyFile, '--json']);
      expect(ok.code).toBe(0);
      const checked = JSON.parse(ok.stdout).checked as { store: string; name: string; ok: boolean; notes: string[] }[];
      expect(checked).toHaveLength(3 * KEPT.length);
      expect(checked.every((c) => c.ok && c.notes.length === 0)).toBe(true);

      const victim = 'backup_critical_2026-12-01_03-00-00.sql.gz.age'; // the newest: --latest checks it too
      const file = path.join(sftpDir(), victim);
      const bytes = fs.readFileSync(file);
      bytes.writeUInt8(bytes.readUInt8(bytes.length - 200) ^ 0x10, bytes.length - 200);
      fs.writeFileSync(file, bytes);

      // Without the identity: the SHA-256 against the manifest finds it.
      const damaged = await cli(['backups', '--check', '--all']);
      expect(damaged.code).toBe(1);
      expect(damaged.stderr).toContain(`DAMAGED ${sftp.url(`gfs-${engine}`)}/${victim}: SHA-256`);
      expect(damaged.stderr.match(/DAMAGED/g)).toHaveLength(1);
      // With it: the decryption's authentication fails too.
      const decrypting = await cli(['backups', '--check', '--all', '--identity', keyFile, '--json']);
      expect(decrypting.code).toBe(1);
      const bad = (
        JSON.parse(decrypting.stdout).checked as { store: string; name: string; ok: boolean; damage: string[] }[]
      ).filter((c) => !c.ok);
      expect(bad.map((c) => `${c.store}/${c.name}`)).toEqual([`${sftp.url(`gfs-${engine}`)}/${victim}`]);
      expect(bad[0]?.damage.join('; ')).toMatch(/decrypted|authentication/);

      // The same on S3.
      fs.writeFileSync(file, bytes.subarray(0, 0)); // leave SFTP broken differently: empty
      const object = s3.objectPath(`${prefix}/${victim}`);
      const s3Bytes = fs.readFileSync(object);
      s3Bytes.writeUInt8(s3Bytes.readUInt8(100) ^ 0x01, 100);
      fs.writeFileSync(object, s3Bytes);
      const both = await cli(['backups', '--check', '--latest']);
      expect(both.code).toBe(1);
      expect(both.stderr).toContain(`DAMAGED ${s3Url()}/${victim}`);
      expect(both.stderr).toContain(`DAMAGED ${sftp.url(`gfs-${engine}`)}/${victim}`);
    });

    it('backups --dry-run-retention shows each remote copy with keep or delete and why', async () => {
      const r = await cli(['backups', '--dry-run-retention']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`keep    ${s3Url()}/backup_full_2026-11-22_04-00-00.sql.gz.age  weekly 2026-W47`);
      expect(r.stdout).toContain(
        `keep    ${sftp.url(`gfs-${engine}`)}/backup_critical_2026-12-01_03-00-00.sql.gz.age  daily 2026-12-01; weekly 2026-W49`,
      );
      expect(r.stdout).not.toContain('notes.txt');
    });
  },
);
