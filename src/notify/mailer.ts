import { createRequire } from 'node:module';
import os from 'node:os';
import type { Transporter } from 'nodemailer';
import type { Config } from '../config/config.js';
import { realSleep, type Sleep } from '../util/clock.js';
import { errorMessage } from '../util/errors.js';
import { maskUrl, urlSecrets } from '../db/url.js';

// Loaded on first use: most runs send no mail, and every run pays for what it loads at start.
const requireLazy = createRequire(import.meta.url);

interface MailAttachment {
  filename: string;
  path?: string;
  content?: string | Buffer;
  contentType?: string;
}

export interface MailMessage {
  subject: string;
  text: string;
  html?: string;
  attachments?: MailAttachment[];
}

/** What happened to one recipient's message. */
export interface DeliveryResult {
  to: string;
  ok: boolean;
  /** Tries made (1 when the first one settled it). */
  attempts: number;
  messageId?: string;
  /** Secrets masked. */
  error?: string;
  /** The SMTP reply code of the last failure, when the server gave one. */
  responseCode?: number;
}

interface DeliveryReport {
  sent: string[];
  failed: { to: string; error: string; attempts: number }[];
  /** One entry per recipient, in the order given. */
  results: DeliveryResult[];
}

interface SendOptions {
  /** Called before each wait for another try of a transient failure. */
  onRetry?(info: { to: string; attempt: number; delayMs: number; error: string }): void;
  /** Stops waiting between tries (the message then counts as failed). */
  signal?: AbortSignal;
}

export interface Mailer {
  /** False when no SMTP URL is configured: mail steps are skipped with one log line. */
  readonly configured: boolean;
  readonly admins: string[];
  readonly secrets: string[];
  /**
   * One message per recipient (no recipient sees another's address); transient SMTP errors
   * (4xx replies, dropped connections) retried after the configured waits; a recipient that
   * still fails is reported in the result, never thrown, and the others are still sent.
   */
  sendEach(recipients: readonly string[], message: MailMessage, options?: SendOptions): Promise<DeliveryReport>;
  /** SMTP handshake only, for `doctor`. */
  verify(): Promise<void>;
  close(): void;
}

interface MailerOptions {
  url?: string;
  from?: string;
  admins?: string[];
  /** Waits between tries of one message (default 1 s, 4 s, 15 s); its length + 1 is the number of tries. */
  retryDelaysMs?: number[];
  timeoutMs?: number;
  sleep?: Sleep;
}

/** 4xx replies and dropped connections are worth another try; 5xx refusals are final. */
function isTransientSmtpError(err: unknown): boolean {
  const e = err as { responseCode?: number; code?: string };
  if (typeof e.responseCode === 'number') return e.responseCode >= 400 && e.responseCode < 500;
  return ['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'ECONNRESET', 'ECONNREFUSED', 'EDNS', 'EPIPE'].includes(e.code ?? '');
}

export function mailerOptionsFromConfig(config: Config, env: NodeJS.ProcessEnv = process.env): MailerOptions {
  const envAdmins = env.WEBJOBS_ADMINS?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const timeoutSeconds = config.value('mail.timeoutSeconds');
  return {
    url: env.SMTP_URL || config.value('mail.url'),
    from: config.value('mail.from'),
    admins: envAdmins && envAdmins.length ? envAdmins : config.value('mail.admins'),
    retryDelaysMs: config.value('mail.retryDelaysMs'),
    timeoutMs: timeoutSeconds * 1000,
  };
}

const DEFAULT_RETRY_DELAYS_MS = [1000, 4000, 15_000];

class SmtpMailer implements Mailer {
  readonly configured: boolean;
  readonly admins: string[];
  readonly secrets: string[];
  private transport: Transporter | null = null;

  constructor(private readonly opts: MailerOptions) {
    this.configured = Boolean(opts.url);
    this.admins = opts.admins ?? [];
    this.secrets = opts.url ? urlSecrets(opts.url) : [];
  }

  private get transporter(): Transporter {
    if (!this.transport) {
      const t = this.opts.timeoutMs ?? 15_000;
      const nodemailer = requireLazy('nodemailer') as typeof import('nodemailer');
      // The timeouts go in the transport options beside the URL: a second argument would be message defaults.
      this.transport = nodemailer.createTransport({
        url: this.opts.url as string,
        connectionTimeout: t,
        greetingTimeout: t,
        socketTimeout: t,
      });
    }
    return this.transport;
  }

  private get from(): string {
    return this.opts.from ?? `webjobs <webjobs@${os.hostname()}>`;
  }

  async sendEach(
    recipients: readonly string[],
    message: MailMessage,
    options: SendOptions = {},
  ): Promise<DeliveryReport> {
    const report: DeliveryReport = { sent: [], failed: [], results: [] };
    const delays = this.opts.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    const sleep = this.opts.sleep ?? realSleep;
    for (const to of recipients) {
      const result = await this.sendOne(to, message, delays, sleep, options);
      report.results.push(result);
      if (result.ok) report.sent.push(to);
      else report.failed.push({ to, error: result.error ?? 'unknown error', attempts: result.attempts });
    }
    return report;
  }

  private async sendOne(
    to: string,
    message: MailMessage,
    delays: readonly number[],
    sleep: Sleep,
    options: SendOptions,
  ): Promise<DeliveryResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        const info = (await this.transporter.sendMail({ from: this.from, to, ...message })) as { messageId?: string };
        return { to, ok: true, attempts: attempt, ...(info?.messageId ? { messageId: info.messageId } : {}) };
      } catch (err) {
        const error = this.clean(errorMessage(err));
        const responseCode = (err as { responseCode?: number }).responseCode;
        const delay = delays[attempt - 1];
        if (delay !== undefined && isTransientSmtpError(err) && !options.signal?.aborted) {
          options.onRetry?.({ to, attempt, delayMs: delay, error });
          try {
            await sleep(delay, options.signal);
            continue;
          } catch {
            /* cancelled while waiting: report the last failure */
          }
        }
        return {
          to,
          ok: false,
          attempts: attempt,
          error,
          ...(typeof responseCode === 'number' ? { responseCode } : {}),
        };
      }
    }
  }

  async verify(): Promise<void> {
    await this.transporter.verify();
  }

  private clean(text: string): string {
    let out = maskUrl(text);
    for (const s of this.secrets) out = out.split(s).join('***');
    return out;
  }

  close(): void {
    this.transport?.close();
    this.transport = null;
  }
}

export function createMailer(options: MailerOptions): Mailer {
  return new SmtpMailer(options);
}
