import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'bin', 'webjobs.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** How to start the CLI: the built one (bin/webjobs.js → dist/), or a TypeScript entry run through tsx. */
export interface CliOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** A .ts entry (e.g. a fixture that registers a test job) instead of the built CLI. */
  entry?: string;
  /** Written to standard input, which is then closed (default: closed at once). */
  input?: string;
}

const TSX_LOADER = pathToFileURL(path.join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

/**
 * The one way tests start the CLI, as cron would: no TTY, a small given environment. Returns
 * the child, its output so far, a wait for a log line, and its end.
 */
export function startCli(args: string[], opts: CliOptions = {}) {
  const entry = opts.entry ? ['--import', TSX_LOADER, opts.entry] : [BIN];
  const child = spawn(process.execPath, [...entry, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TZ: 'UTC', NO_COLOR: '1', ...opts.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end(opts.input ?? '');
  let stdout = '';
  let stderr = '';
  const waiters: Array<{ re: RegExp; resolve: () => void }> = [];
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    for (const w of [...waiters])
      if (w.re.test(stderr)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
  });
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  /** Resolves when stderr matches (rejects after the timeout, showing what was logged). */
  const waitFor = (re: RegExp, timeoutMs = 30_000) =>
    new Promise<void>((resolve, reject) => {
      if (re.test(stderr)) return resolve();
      const t = setTimeout(() => reject(new Error(`timed out waiting for ${re} in:\n${stderr}`)), timeoutMs);
      waiters.push({ re, resolve: () => (clearTimeout(t), resolve()) });
    });
  return { child, done, waitFor, output: () => ({ stdout, stderr }) };
}

/** Runs the CLI to its end (killed after `timeoutMs`). */
export async function runCli(args: string[], opts: CliOptions & { timeoutMs?: number } = {}): Promise<CliResult> {
  const run = startCli(args, opts);
  const timer = setTimeout(() => run.child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  try {
    return await run.done;
  } finally {
    clearTimeout(timer);
  }
}
