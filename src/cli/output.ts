import type { RunSummary } from '../runner/runner.js';

/** `--json`: exactly one JSON object on stdout. Otherwise stdout stays empty (logs are on stderr). */
export function printSummary(summary: RunSummary, json: boolean): void {
  if (json) {
    const { exitCode: _exitCode, ...rest } = summary;
    process.stdout.write(JSON.stringify(rest, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) + '\n');
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n');
}

/** commander's error output: an error stays one line even when the offending value holds a newline. */
export function writeOneLineErrors(s: string): void {
  process.stderr.write(s.startsWith('error:') ? `${s.trimEnd().replace(/\r?\n/g, '\\n')}\n` : s);
}
