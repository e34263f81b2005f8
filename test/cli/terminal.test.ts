import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, runCli } from '../support/cli.js';
import { tempDir } from '../support/databases.js';

const ESC = '\u001b';
const HIDE_CURSOR = `${ESC}[?25l`;
const GRAY = `${ESC}[90m`;

/** Runs the CLI on a real pseudo-terminal (util-linux `script`), `columns` wide (0: a pty nobody sized). */
function onTerminal(args: string[], cwd: string, columns: number): Promise<{ code: number | null; output: string }> {
  const log = path.join(cwd, 'typescript.log');
  const sizing = columns > 0 ? `stty cols ${columns} rows 30; ` : '';
  const command = `${sizing}exec ${process.execPath} ${BIN} ${args.join(' ')}`;
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', command, log], {
      cwd,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TZ: 'UTC', TERM: 'xterm-256color' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output: fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '' });
    });
  });
}

describe('output on a terminal and off it', () => {
  let work: string;
  afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

  it('a sized terminal gets colored lines and a spinner', async () => {
    work = tempDir();
    const r = await onTerminal(['demo', '--rows', '200'], work, 100);
    expect(r.code).toBe(0);
    expect(r.output).toContain(GRAY);
    expect(r.output).toContain(HIDE_CURSOR);
    expect(r.output).toMatch(/backing up \S+: \d+ of ~\d+ rows/);
    expect(fs.readdirSync(path.join(work, 'var', 'backups')).filter((n) => n.endsWith('.sql.gz'))).toHaveLength(1);
  }, 40_000);

  it('a terminal that reports no width gets colored step lines, no spinner, and the run ends', async () => {
    work = tempDir();
    const r = await onTerminal(['demo', '--rows', '200'], work, 0);
    expect(r.code).toBe(0);
    expect(r.output.length).toBeLessThan(20_000);
    expect(r.output).toContain(GRAY);
    expect(r.output).not.toContain(HIDE_CURSOR);
    expect(r.output).toMatch(/INFO .* backing up 14 table\(s\)/);
  }, 40_000);

  it('a pipe (cron) gets plain timestamped lines: no escape sequence at all', async () => {
    work = tempDir();
    const r = await runCli(['demo', '--rows', '200'], { cwd: work, env: { TERM: 'xterm-256color', NO_COLOR: '' } });
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(ESC);
    const lines = r.stderr.trim().split('\n');
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) expect(line).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (INFO |WARN |ERROR) /);
  });
});
