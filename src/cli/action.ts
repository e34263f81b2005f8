import { errorMessage, UsageError } from '../util/errors.js';
import { maskUrl } from '../db/url.js';

let exitCode = 0;

export function lastExitCode(): number {
  return exitCode;
}

export function resetExitCode(): void {
  exitCode = 0;
}

/** Prints one clear line for an error and picks the exit code: 2 for bad usage, 1 otherwise. */
export function reportError(err: unknown): number {
  const usage = err instanceof UsageError;
  process.stderr.write(`webjobs: ${usage ? 'error: ' : ''}${maskUrl(errorMessage(err)).split('\n')[0]}\n`);
  return usage ? 2 : 1;
}

/** Wraps a command action that returns its exit code, so every command maps errors the same way. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      exitCode = await fn(...args);
    } catch (err) {
      exitCode = reportError(err);
    }
  };
}
