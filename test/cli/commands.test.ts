import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/commands/index.js';
import { jobNames, loadJobs } from '../../src/jobs/registry.js';
import { runCli } from '../support/cli.js';

const JOB_NAMES = jobNames();

describe('the CLI registers what the command line names', () => {
  it('lists the jobs by name in the same order as the jobs themselves', async () => {
    expect(JOB_NAMES).toEqual((await loadJobs()).map((j) => j.name));
  });

  it('--help lists every command, the jobs first', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    const all = [...JOB_NAMES, ...COMMANDS.map((c) => c.name)];
    const listed = [...r.stdout.matchAll(/^ {2}([a-z-]+)\b/gm)].map((m) => m[1]).filter((name) => all.includes(name!));
    expect(listed).toEqual(all);
  });

  it.each(JOB_NAMES)('%s --help shows its own options and --force', async (name) => {
    const r = await runCli([name, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Usage: webjobs ${name}`);
    expect(r.stdout).toMatch(/--dry-run/);
    expect(r.stdout).toMatch(/--force\b.*paused/s);
  });

  it('an unknown command is one line and exit 2', async () => {
    const r = await runCli(['backup-dbx']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/unknown command 'backup-dbx'/);
  });

  it('-V prints the version', async () => {
    const r = await runCli(['-V']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('a reader that goes away', () => {
  it('--help into a pipe closed at once: no EPIPE crash, exit 0', async () => {
    const { spawn } = await import('node:child_process');
    const { BIN, ROOT } = await import('../support/cli.js');
    const child = spawn(process.execPath, [BIN, 'backup-db', '--help'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(stderr).not.toMatch(/EPIPE|Unhandled/);
    expect(code).toBe(0);
  });
});
