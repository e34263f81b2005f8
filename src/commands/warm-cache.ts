import { Command, InvalidArgumentError } from '../cli/commander.js';
import { warmCacheJob, type WarmOptions } from '../jobs/warm-cache/index.js';
import { action } from '../cli/action.js';
import { addCommonOptions, choiceOption, examples, intOption } from '../cli/common-options.js';
import { runJobCommand } from '../cli/run-job-command.js';

function positiveNumber(name: string, max: number) {
  return (value: string): number => {
    const n = Number(value.trim());
    if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > max)
      throw new InvalidArgumentError(`${name} must be a number above 0 and at most ${max}`);
    return n;
  };
}

export function register(program: Command): void {
  const cmd = program
    .command('warm-cache')
    .description(
      'Request the most used widgets (config warm.urlTemplate) so the cache is warm; a circuit breaker per platform',
    )
    .option(
      '--count <n>',
      'widgets to warm (default: setting cache-warming-widget-count, 10)',
      intOption('--count', 1, 1_000_000),
    )
    .option('--days <n>', 'popularity window in days (default 7)', intOption('--days', 1, 3650))
    .option('--concurrency <n>', 'requests in flight at once (default 4)', intOption('--concurrency', 1, 256))
    .option(
      '--rate <n>',
      'at most this many requests per second over all workers (default: unlimited)',
      positiveNumber('--rate', 100_000),
    )
    .option(
      '--delay <ms>',
      'pause each worker takes between two requests (default 0)',
      intOption('--delay', 0, 600_000),
    )
    .option(
      '--timeout <seconds>',
      'per-widget budget in seconds: the request, and any Retry-After wait and retry (decimals allowed; default 10)',
      positiveNumber('--timeout', 3600),
    )
    .option('--method <method>', 'GET or HEAD (default GET)', choiceOption('--method', ['GET', 'HEAD'] as const))
    .option('--force', 'run even though the setting cache-warming-enabled is 0');
  addCommonOptions(cmd, { dryRun: true });
  examples(cmd, [
    'webjobs warm-cache',
    'webjobs warm-cache --count 50 --concurrency 8 --rate 20',
    'webjobs warm-cache --dry-run --force   # list the URLs, send nothing',
  ]);
  cmd.action(
    action(
      async (opts: {
        count?: number;
        days?: number;
        concurrency?: number;
        rate?: number;
        delay?: number;
        timeout?: number;
        method?: 'GET' | 'HEAD';
        force?: boolean;
      }) => {
        const options: WarmOptions = {
          count: opts.count,
          days: opts.days,
          concurrency: opts.concurrency,
          rate: opts.rate,
          delayMs: opts.delay,
          timeoutMs: opts.timeout === undefined ? undefined : Math.max(1, Math.round(opts.timeout * 1000)),
          method: opts.method,
          force: Boolean(opts.force),
        };
        return runJobCommand(cmd, warmCacheJob, options);
      },
    ),
  );
}
