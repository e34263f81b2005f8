import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { ROOT, runCli, startCli, type CliOptions, type CliResult } from '../support/cli.js';

export const FIXTURE = path.join(ROOT, 'test', 'cron-ops', 'fixtures', 'cli.ts');
/** Starts the CLI with the test job `sleepy` registered, for tests that signal it or run it twice. */
export function startFixture(args: string[], opts: CliOptions = {}) {
  return startCli(args, { ...opts, entry: FIXTURE });
}

export function runFixture(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return runCli(args, { ...opts, entry: FIXTURE });
}

/** A throwaway system user for crontab tests (tests run as root); removed by the returned function. */
export function throwawayUser(): { name: string; remove: () => void } {
  const name = `wj${randomBytes(4).toString('hex')}`;
  const r = spawnSync('useradd', ['-M', '-s', '/bin/sh', name], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`useradd failed: ${r.stderr}`);
  return {
    name,
    remove: () => {
      spawnSync('crontab', ['-u', name, '-r'], { encoding: 'utf8' });
      spawnSync('userdel', [name], { encoding: 'utf8' });
    },
  };
}

export function crontabOf(user: string): { text: string; exists: boolean } {
  const r = spawnSync('crontab', ['-u', user, '-l'], { encoding: 'utf8' });
  return { text: r.status === 0 ? r.stdout : '', exists: r.status === 0 };
}

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * A strict parser of the Prometheus text exposition format (the subset a textfile collector
 * accepts): HELP/TYPE comments before their samples, `name{label="value",...} number`, one
 * TYPE per metric, a final newline. Throws on anything else.
 */
export function parsePrometheusText(text: string): { samples: PromSample[]; types: Map<string, string> } {
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline');
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples: PromSample[] = [];
  const seen = new Set<string>();
  const lines = text.slice(0, -1).split('\n');
  lines.forEach((line, i) => {
    const where = `line ${i + 1}: ${line}`;
    if (line === '') return;
    let m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m) {
      const [, kind, name, rest] = m as unknown as [string, string, string, string];
      if (kind === 'TYPE') {
        if (types.has(name)) throw new Error(`second TYPE for ${name} (${where})`);
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest))
          throw new Error(`bad type (${where})`);
        if (samples.some((s) => s.name === name)) throw new Error(`TYPE after samples (${where})`);
        types.set(name, rest);
      } else {
        if (helps.has(name)) throw new Error(`second HELP for ${name} (${where})`);
        helps.add(name);
      }
      return;
    }
    if (line.startsWith('#')) return;
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?$/.exec(line);
    if (!m) throw new Error(`not a sample (${where})`);
    const name = m[1] as string;
    const labels: Record<string, string> = {};
    if (m[3] !== undefined && m[3] !== '') {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;
      let pos = 0;
      const body = m[3];
      while (pos < body.length) {
        re.lastIndex = pos;
        const l = re.exec(body);
        if (!l) throw new Error(`bad labels (${where})`);
        labels[l[1] as string] = (l[2] as string).replace(/\\n/g, '\n').replace(/\\(.)/g, '$1');
        pos = re.lastIndex;
      }
    }
    const raw = m[4] as string;
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : raw === 'NaN' ? NaN : Number(raw);
    if (!/^(NaN|[+-]Inf|[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)$/.test(raw)) throw new Error(`bad value (${where})`);
    const key = `${name}${JSON.stringify(labels)}`;
    if (seen.has(key)) throw new Error(`duplicate sample (${where})`);
    seen.add(key);
    samples.push({ name, labels, value });
  });
  return { samples, types };
}
