import type { ChalkInstance } from 'chalk';
import type { Ora } from 'ora';
import { formatLocalDateTime } from '../util/time.js';
import { maskUrl } from '../db/url.js';

// chalk and ora are loaded only for a terminal: cron runs (no terminal) never pay for them
// (chalk alone is ~13 ms of start-up). The CLI awaits them before its first line
// (loadTerminalModules); a logger that writes before they are in writes plain lines.
let chalk: ChalkInstance | null = null;
let oraModule: typeof import('ora') | null = null;
let terminalLoading: Promise<void> | null = null;

export function loadTerminalModules(): Promise<void> {
  terminalLoading ??= Promise.all([
    import('chalk').then((m) => {
      chalk = m.default;
    }),
    import('ora').then((m) => {
      oraModule = m;
    }),
  ]).then(
    () => undefined,
    () => undefined,
  );
  return terminalLoading;
}

/**
 * A terminal that reports no width (a pty nobody sized: `script`, some `docker exec -t`) gets
 * step lines instead of a spinner: ora divides by the width to count the lines to clear, and
 * with 0 it clears forever.
 */
function hasWidth(stream: NodeJS.WritableStream): boolean {
  const columns = (stream as { columns?: number }).columns;
  return typeof columns === 'number' && columns > 0;
}

/** Colors and a spinner: only when stdout and the log stream are terminals and NO_COLOR is unset. */
export function isInteractive(stream: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr): boolean {
  return Boolean(process.stdout.isTTY) && Boolean(stream.isTTY) && !process.env.NO_COLOR;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const levelColor = (c: ChalkInstance, level: LogLevel) =>
  ({ debug: c.gray, info: c.white, warn: c.yellow, error: c.red })[level];

interface Progress {
  step?: string;
  done: number;
  total?: number;
  unit?: string;
}

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** A new step: the spinner's text on a terminal, one log line otherwise. */
  step(message: string): void;
  /** Progress within a step: only the spinner shows it (cron logs get the step lines). */
  progress(p: Progress): void;
  /** Stops the spinner, if any. */
  finish(): void;
  /** Anything equal to a registered secret is printed as `***`. */
  addSecret(secret: string): void;
  /** The text with URL passwords and registered secrets replaced by `***`. */
  mask(text: string): string;
  /** The last lines written, for monitoring pings (bounded). */
  tail(maxBytes?: number): string;
  child(scope: string): Logger;
}

interface LoggerOptions {
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Colors and a spinner: only when stdout is a terminal and NO_COLOR is unset. */
  interactive?: boolean;
  level?: LogLevel;
  timeZone: string;
  now?: () => Date;
  scope?: string;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const TAIL_LIMIT = 64 * 1024;

interface SharedState {
  secrets: Set<string>;
  tail: string[];
  tailBytes: number;
  spinner: Ora | null;
}

class StreamLogger implements Logger {
  constructor(
    private readonly opts: Required<Omit<LoggerOptions, 'scope'>> & { scope: string },
    private readonly shared: SharedState,
  ) {}

  mask(text: string): string {
    let out = maskUrl(text);
    for (const s of this.shared.secrets) if (s) out = out.split(s).join('***');
    return out;
  }

  private remember(line: string): void {
    this.shared.tail.push(line);
    this.shared.tailBytes += line.length + 1;
    while (this.shared.tailBytes > TAIL_LIMIT && this.shared.tail.length > 1) {
      this.shared.tailBytes -= (this.shared.tail.shift() ?? '').length + 1;
    }
  }

  private write(level: LogLevel, message: string): void {
    if (ORDER[level] < ORDER[this.opts.level]) return;
    const text = this.mask(message);
    const stamp = formatLocalDateTime(this.opts.now(), this.opts.timeZone);
    const scope = this.opts.scope ? `[${this.opts.scope}] ` : '';
    const plain = `${stamp} ${level.toUpperCase().padEnd(5)} ${scope}${text}`;
    this.remember(plain);
    if (this.opts.interactive) {
      const line = chalk
        ? `${chalk.gray(stamp)} ${levelColor(chalk, level)(level.toUpperCase().padEnd(5))} ${scope}${text}`
        : plain;
      const spinner = this.shared.spinner;
      if (spinner?.isSpinning) {
        spinner.clear();
        this.opts.stream.write(line + '\n');
        spinner.render();
      } else {
        this.opts.stream.write(line + '\n');
      }
      return;
    }
    this.opts.stream.write(plain + '\n');
  }

  debug(m: string) {
    this.write('debug', m);
  }
  info(m: string) {
    this.write('info', m);
  }
  warn(m: string) {
    this.write('warn', m);
  }
  error(m: string) {
    this.write('error', m);
  }

  step(message: string): void {
    if (this.opts.interactive && oraModule && hasWidth(this.opts.stream) && ORDER[this.opts.level] <= ORDER.info) {
      const ora = oraModule.default;
      this.remember(`${formatLocalDateTime(this.opts.now(), this.opts.timeZone)} STEP  ${this.mask(message)}`);
      if (!this.shared.spinner)
        this.shared.spinner = ora({ stream: this.opts.stream, text: this.mask(message) }).start();
      else this.shared.spinner.text = this.mask(message);
      return;
    }
    this.write('info', message);
  }

  progress(p: Progress): void {
    const spinner = this.shared.spinner;
    if (!spinner) return;
    const of = p.total ? ` of ~${p.total.toLocaleString('en-US')}` : '';
    spinner.text = `${p.step ? this.mask(p.step) + ': ' : ''}${p.done.toLocaleString('en-US')}${of} ${p.unit ?? 'rows'}`;
  }

  finish(): void {
    this.shared.spinner?.stop();
    this.shared.spinner = null;
  }

  addSecret(secret: string): void {
    if (secret && secret.length >= 3) this.shared.secrets.add(secret);
  }

  tail(maxBytes = 10_000): string {
    const text = this.shared.tail.join('\n');
    return text.length > maxBytes ? text.slice(text.length - maxBytes) : text;
  }

  child(scope: string): Logger {
    return new StreamLogger({ ...this.opts, scope }, this.shared);
  }
}

export function createLogger(options: LoggerOptions): Logger {
  const stream = options.stream ?? process.stderr;
  const interactive = options.interactive ?? isInteractive(stream);
  if (interactive) void loadTerminalModules();
  return new StreamLogger(
    {
      stream,
      interactive,
      level: options.level ?? 'info',
      timeZone: options.timeZone,
      now: options.now ?? (() => new Date()),
      scope: options.scope ?? '',
    },
    { secrets: new Set(), tail: [], tailBytes: 0, spinner: null },
  );
}
