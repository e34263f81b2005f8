import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Measure {
  seconds: number;
  /** CPU seconds (user + system) of the command and its children: less sensitive to other load than wall time. */
  cpu: number;
  rssMb: number;
  /** Size of the output file, or of every file under the output folder. */
  bytes: number;
}

/**
 * The environment cron gives a job (crontab(5): HOME, LOGNAME, PATH, SHELL; Debian's cron adds
 * the locale; PATH is kept from here so the same programs are found), plus `extra`. Both sides of a comparison run as cron runs them,
 * not with whatever the bench's shell exports: this sandbox's shell exports NODE_EXTRA_CA_CERTS,
 * for instance, which makes every node start read a CA bundle (~45 ms) that a backup never uses.
 */
export function cronEnvironment(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const user = os.userInfo().username;
  return {
    HOME: os.homedir(),
    LOGNAME: user,
    USER: user,
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    SHELL: '/bin/sh',
    LANG: 'C.UTF-8',
    ...extra,
  };
}

/**
 * Runs a shell command under GNU time (Debian package `time`) in cron's environment plus `env`;
 * wall and CPU seconds, peak RSS, output size.
 */
export function timed(cmd: string, env: NodeJS.ProcessEnv, out: string): Measure {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M %U %S', 'sh', '-c', cmd], {
    env: cronEnvironment(env),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`failed (${r.status}): ${cmd}\n${r.stderr}`);
  const [secs, kb, user, sys] = (r.stderr.trim().split('\n').at(-1) ?? '').split(' ').map(Number);
  return {
    seconds: secs ?? NaN,
    cpu: (user ?? NaN) + (sys ?? NaN),
    rssMb: (kb ?? NaN) / 1024,
    bytes: outputBytes(out),
  };
}

function outputBytes(out: string): number {
  if (!fs.existsSync(out)) return 0;
  if (fs.statSync(out).isFile()) return fs.statSync(out).size;
  let n = 0;
  for (const f of fs.readdirSync(out, { recursive: true }) as string[]) {
    const p = path.join(out, f);
    if (fs.statSync(p).isFile()) n += fs.statSync(p).size;
  }
  return n;
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
export const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`;
