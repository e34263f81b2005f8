import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli } from '../support/cli.js';
import { tempDir } from '../support/databases.js';
import { crontabOf, throwawayUser } from './support.js';

const EXAMPLE_ARGS = [
  'cron',
  'print',
  '--cwd',
  '/srv/app',
  '--node',
  '/usr/bin/node',
  '--webjobs',
  '/srv/app/bin/webjobs.js',
  '--log-dir',
  '/srv/app/var/log',
];

describe('webjobs cron print', () => {
  let work: string;
  beforeAll(() => {
    work = tempDir();
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('crontab.example is exactly its output for the default schedule', async () => {
    const r = await runCli(EXAMPLE_ARGS, { cwd: work });
    expect(r.code).toBe(0);
    const example = fs.readFileSync(path.join(ROOT, 'crontab.example'), 'utf8');
    const block = example.slice(example.indexOf('# BEGIN webjobs'));
    expect(block).toBe(r.stdout);
    expect(example).toContain(`webjobs ${EXAMPLE_ARGS.join(' ')}`);
    // Absolute paths, the working directory, one log per job, both stdout and stderr.
    expect(r.stdout).toContain(
      "0 3 * * * cd '/srv/app' && '/usr/bin/node' '/srv/app/bin/webjobs.js' backup-db --type critical >> '/srv/app/var/log/backup-db.log' 2>&1\n",
    );
    expect(r.stdout).toContain(
      "0 8 * * 1 cd '/srv/app' && '/usr/bin/node' '/srv/app/bin/webjobs.js' export-report --period weekly >> '/srv/app/var/log/export-report.log' 2>&1\n",
    );
    expect(r.stdout).toContain('# export-report --period weekly: every Monday at 08:00');
    expect(r.stdout).not.toContain('CRON_TZ');
  });

  it('adds CRON_TZ, the config file, jitter sleeps; quotes spaces, quotes and % for cron', async () => {
    const dir = path.join(work, "it's 100% app");
    fs.mkdirSync(dir);
    const cfg = path.join(dir, 'webjobs.config.json');
    fs.writeFileSync(
      cfg,
      JSON.stringify({ timezone: 'Europe/Istanbul', schedule: { jitterSeconds: 600, jobs: { 'warm-cache': false } } }),
    );
    const r = await runCli(['cron', 'print', '--host', 'web-1'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('\nCRON_TZ=Europe/Istanbul\n');
    expect(r.stdout).toContain('every day at 03:00 (Europe/Istanbul)');
    expect(r.stdout).not.toContain('warm-cache');
    const quoted = `'${dir.replace(/'/g, `'\\''`).replace(/%/g, '\\%')}'`;
    expect(r.stdout).toContain(`cd ${quoted} &&`);
    expect(r.stdout).toContain(`--config '${cfg.replace(/'/g, `'\\''`).replace(/%/g, '\\%')}'`);
    const sleeps = [...r.stdout.matchAll(/^\S+ \S+ \S+ \S+ \S+ sleep (\d+) && /gm)].map((m) => Number(m[1]));
    expect(sleeps).toHaveLength(5);
    expect(sleeps.every((s) => s >= 0 && s <= 600)).toBe(true);
    const again = await runCli(['cron', 'print', '--host', 'web-1'], { cwd: dir });
    expect(again.stdout).toBe(r.stdout);
    const other = await runCli(['cron', 'print', '--host', 'web-2'], { cwd: dir });
    expect(other.stdout).not.toBe(r.stdout);
  });

  it('a bad expression is exit 2 naming the job; a per-second one is refused for cron', async () => {
    const cfg = path.join(work, 'bad.json');
    fs.writeFileSync(cfg, JSON.stringify({ schedule: { jobs: { 'cleanup-tokens': '0 4 * *' } } }));
    const r = await runCli(['cron', 'print', '--config', cfg], { cwd: work });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/schedule for cleanup-tokens: "0 4 \* \*" needs 5 fields/);
    expect(r.stdout).toBe('');
    fs.writeFileSync(cfg, JSON.stringify({ schedule: { jobs: { 'cleanup-tokens': '*/5 * * * * *' } } }));
    const s = await runCli(['cron', 'print', '--config', cfg], { cwd: work });
    expect(s.code).toBe(2);
    expect(s.stderr).toMatch(/cleanup-tokens.*seconds field.*webjobs schedule/);
  });
});

describe('setup-cron.sh with the real crontab program', () => {
  let work: string;
  let app: string;
  let user: ReturnType<typeof throwawayUser>;
  let logDir: string;
  const ORIGINAL =
    'MAILTO=""\n# my own lines   (spacing kept)\n*/5 * * * * echo "50\\% off" > /dev/null\n\n@daily /bin/true # trailing comment\n';

  const setup = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    spawnSync('/bin/bash', [path.join(app, 'setup-cron.sh'), ...args], {
      encoding: 'utf8',
      cwd: work,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    });

  beforeAll(() => {
    work = tempDir('webjobs-cron-');
    fs.chmodSync(work, 0o755);
    // A copy of the app in a folder whose name has spaces (node resolves symlinks, so a real copy).
    app = path.join(work, 'web jobs app');
    fs.mkdirSync(app);
    for (const f of ['bin', 'dist', 'package.json', 'setup-cron.sh'])
      fs.cpSync(path.join(ROOT, f), path.join(app, f), { recursive: true });
    fs.symlinkSync(fs.realpathSync(path.join(ROOT, 'node_modules')), path.join(app, 'node_modules'));
    fs.writeFileSync(
      path.join(app, 'webjobs.config.json'),
      JSON.stringify({ timezone: 'UTC', database: { url: 'sqlite:./var/app.sqlite' } }),
    );
    logDir = path.join(work, 'cron logs');
    user = throwawayUser();
    fs.writeFileSync(path.join(work, 'original'), ORIGINAL);
    const r = spawnSync('crontab', ['-u', user.name, path.join(work, 'original')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(crontabOf(user.name).text).toBe(ORIGINAL);
  });
  afterAll(() => {
    user?.remove();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('installs the block after the existing lines; a second install replaces it, never duplicates it', () => {
    const first = setup(['--user', user.name, '--log-dir', logDir]);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain(`"${logDir}/*.log" {`); // the logrotate snippet
    const once = crontabOf(user.name).text;
    expect(once.startsWith(ORIGINAL)).toBe(true);
    expect(once.split('\n').filter((l) => l === `# BEGIN webjobs ${app}`)).toHaveLength(1);
    expect(once.split('\n').filter((l) => l === `# END webjobs ${app}`)).toHaveLength(1);
    expect(once).toContain(`cd '${app}' && '`);
    expect(once).toContain(`>> '${logDir}/backup-db.log' 2>&1`);
    expect(fs.statSync(logDir).mode & 0o777).toBe(0o750);
    const second = setup(['--user', user.name, '--log-dir', logDir]);
    expect(second.status, second.stderr).toBe(0);
    expect(crontabOf(user.name).text).toBe(once);
  });

  it('a changed schedule replaces the old lines; --dry-run prints the new crontab and changes nothing', () => {
    const before = crontabOf(user.name).text;
    fs.writeFileSync(
      path.join(app, 'webjobs.config.json'),
      JSON.stringify({
        timezone: 'UTC',
        database: { url: 'sqlite:./var/app.sqlite' },
        schedule: { jobs: { 'backup-db': '15 1 * * *' } },
      }),
    );
    const dry = setup(['--user', user.name, '--log-dir', logDir, '--dry-run']);
    expect(dry.status, dry.stderr).toBe(0);
    expect(crontabOf(user.name).text).toBe(before);
    expect(dry.stdout.startsWith(ORIGINAL)).toBe(true);
    expect(dry.stdout).toMatch(/^15 1 \* \* \* .* backup-db --type critical /m);
    const r = setup(['--user', user.name, '--log-dir', logDir]);
    expect(r.status, r.stderr).toBe(0);
    const now = crontabOf(user.name).text;
    expect(now).toBe(dry.stdout);
    expect(now).not.toMatch(/^0 3 \* \* \* .* backup-db /m);
    expect(now.match(/# BEGIN webjobs/g)).toHaveLength(1);
  });

  it('the installed line runs as cron would run it: minimal PATH, from anywhere, path with spaces', () => {
    const init = spawnSync(process.execPath, [path.join(app, 'bin', 'webjobs.js'), 'init', '--schema'], {
      cwd: app,
      encoding: 'utf8',
    });
    expect(init.status, init.stderr).toBe(0);
    const line = crontabOf(user.name)
      .text.split('\n')
      .find((l) => / backup-db --type critical /.test(l) && !l.startsWith('#'));
    expect(line).toBeDefined();
    const command = (line as string).replace(/^(\S+\s+){5}/, '').replace(/\\%/g, '%'); // what cron hands to /bin/sh
    const r = spawnSync('/bin/sh', ['-c', command], {
      cwd: '/',
      encoding: 'utf8',
      env: { PATH: '/usr/bin:/bin', HOME: work, SHELL: '/bin/sh' },
    });
    expect(r.status, r.stderr).toBe(0);
    const log = fs.readFileSync(path.join(logDir, 'backup-db.log'), 'utf8');
    expect(log).toMatch(/INFO {2}backup-db succeeded in/);
    expect(
      fs.readdirSync(path.join(app, 'var', 'backups')).filter((f) => /^backup_critical_.*\.sql\.gz$/.test(f)),
    ).toHaveLength(1);
  });

  it('doctor finds the block matching the schedule, and reports a block that no longer matches', () => {
    const doctor = () =>
      spawnSync(
        process.execPath,
        [path.join(app, 'bin', 'webjobs.js'), 'doctor', '--json', '--crontab-user', user.name],
        { cwd: app, encoding: 'utf8', env: { PATH: process.env.PATH, TZ: 'UTC' } },
      );
    const ok = JSON.parse(doctor().stdout) as { checks: Array<{ name: string; status: string; detail: string }> };
    expect(ok.checks.find((c) => c.name === 'crontab')).toMatchObject({ status: 'ok' });
    fs.writeFileSync(
      path.join(app, 'webjobs.config.json'),
      JSON.stringify({
        timezone: 'UTC',
        database: { url: 'sqlite:./var/app.sqlite' },
        schedule: { jobs: { 'backup-db': '45 2 * * *' } },
      }),
    );
    const r = doctor();
    expect(r.status).toBe(1);
    const bad = JSON.parse(r.stdout) as typeof ok;
    expect(bad.checks.find((c) => c.name === 'crontab')).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/does not match the schedule .*re-run \.\/setup-cron\.sh/),
    });
  });

  it('--uninstall removes only the block: the original crontab byte for byte', () => {
    const r = setup(['--user', user.name, '--uninstall']);
    expect(r.status, r.stderr).toBe(0);
    expect(crontabOf(user.name).text).toBe(ORIGINAL);
    const again = setup(['--user', user.name, '--uninstall']);
    expect(again.status).toBe(0);
    expect(again.stderr).toMatch(/nothing to remove/);
    expect(crontabOf(user.name).text).toBe(ORIGINAL);
  });

  it("installs into the current user's crontab (run as that user), and leaves no crontab after uninstall when there was none", () => {
    const other = throwawayUser();
    try {
      const userLogs = path.join(work, 'user logs');
      fs.mkdirSync(userLogs, { mode: 0o777 });
      fs.chmodSync(userLogs, 0o777);
      const asUser = (args: string) =>
        spawnSync('su', ['-s', '/bin/sh', other.name, '-c', `${shq(path.join(app, 'setup-cron.sh'))} ${args}`], {
          encoding: 'utf8',
          cwd: '/',
        });
      expect(crontabOf(other.name).exists).toBe(false);
      const r = asUser(`--log-dir ${shq(path.join(userLogs, 'x'))}`);
      expect(r.status, r.stderr + r.stdout).toBe(0);
      const text = crontabOf(other.name).text;
      expect(text.startsWith(`# BEGIN webjobs ${app}\n`)).toBe(true);
      expect(text.endsWith(`# END webjobs ${app}\n`)).toBe(true);
      const u = asUser('--uninstall');
      expect(u.status, u.stderr).toBe(0);
      expect(crontabOf(other.name).exists).toBe(false);
    } finally {
      other.remove();
    }
  });

  it("--log-dir: uses another user's folder it can write to as it is; refuses one it cannot write to", () => {
    const other = throwawayUser();
    try {
      // Root's folders: one everyone may write to (chmod by `other` would be refused), one read-only.
      const shared = path.join(work, 'shared logs');
      fs.mkdirSync(shared);
      fs.chmodSync(shared, 0o1777);
      const closed = path.join(work, 'closed logs');
      fs.mkdirSync(closed);
      fs.chmodSync(closed, 0o755);
      const asUser = (args: string) =>
        spawnSync('su', ['-s', '/bin/sh', other.name, '-c', `${shq(path.join(app, 'setup-cron.sh'))} ${args}`], {
          encoding: 'utf8',
          cwd: '/',
        });
      const ok = asUser(`--log-dir ${shq(shared)}`);
      expect(ok.status, ok.stderr + ok.stdout).toBe(0);
      expect(crontabOf(other.name).text).toContain(`>> '${shared}/backup-db.log' 2>&1`);
      expect(fs.statSync(shared).mode & 0o7777).toBe(0o1777); // not ours: left as it was
      const refused = asUser(`--log-dir ${shq(closed)}`);
      expect(refused.status).toBe(1);
      expect(refused.stderr.trim().split('\n')).toEqual([
        `setup-cron.sh: ${other.name} cannot write to the log folder ${closed} (owner root, mode 755): choose another --log-dir`,
      ]);
      // A folder it creates itself still gets 0750.
      const own = path.join(shared, 'mine');
      const made = asUser(`--log-dir ${shq(own)}`);
      expect(made.status, made.stderr).toBe(0);
      expect(fs.statSync(own).mode & 0o777).toBe(0o750);
      expect(asUser('--uninstall').status).toBe(0);
    } finally {
      other.remove();
    }
  });

  it('fails clearly when crontab or node is missing', () => {
    const bin = path.join(work, 'bin-no-crontab');
    fs.mkdirSync(bin);
    for (const t of ['dirname'])
      fs.symlinkSync(spawnSync('sh', ['-c', `command -v ${t}`], { encoding: 'utf8' }).stdout.trim(), path.join(bin, t));
    const noCrontab = setup(['--dry-run'], { PATH: bin });
    expect(noCrontab.status).toBe(1);
    expect(noCrontab.stderr).toMatch(/the crontab program is not installed/);
    fs.symlinkSync(
      spawnSync('sh', ['-c', 'command -v crontab'], { encoding: 'utf8' }).stdout.trim(),
      path.join(bin, 'crontab'),
    );
    const noNode = setup(['--dry-run'], { PATH: bin });
    expect(noNode.status).toBe(1);
    expect(noNode.stderr).toMatch(/node is not on PATH/);
    const bad = setup(['--bogus']);
    expect(bad.status).toBe(2);
  });
});

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
