import { createRequire } from 'node:module';
import os from 'node:os';
import type { Transporter } from 'nodemailer';
import type { Config } from '../config/config.js';
import { realSleep, type Sleep } from '../util/clock.js';
import { errorMessage, UsageError } from '../util/errors.js';
import { maskUrl, urlSecrets } from '../db/url.js';

// Loaded on first use: most runs send no mail, and every run pays for what it loads at start.
const requireLazy = createRequire(import.meta.url);

export interface MailAttachment {
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

export interface DeliveryReport {
  sent: string[];
  failed: { to: string; error: string }[];
}

export interface Mailer {
  /** False when no SMTP URL is configured: mail steps are skipped with one log line. */
  readonly configured: boolean;
  readonly admins: string[];
  readonly secrets: string[];
  /** One message per recipient; transient SMTP errors retried; a failing recipient is reported, never thrown. */
  sendEach(recipients: readonly string[], message: MailMessage): Promise<DeliveryReport>;
  /** SMTP handshake only, for `doctor`. */
  verify(): Promise<void>;
  close(): void;
}

export interface MailerOptions {
  url?: string;
  from?: string;
  admins?: string[];
  /** Waits between tries of one message; its length + 1 is the number of tries. */
  retryDelaysMs?: number[];
  timeoutMs?: number;
  sleep?: Sleep;
}

/** 4xx replies and dropped connections are worth another try; 5xx refusals are final. */
export function isTransientSmtpError(err: unknown): boolean {
  const e = err as { responseCode?: number; code?: string };
  if (typeof e.responseCode === 'number') return e.responseCode >= 400 && e.responseCode < 500;
  return ['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'ECONNRESET', 'ECONNREFUSED', 'EDNS', 'EPIPE'].includes(e.code ?? '');
}

export function mailerOptionsFromConfig(config: Config, env: NodeJS.ProcessEnv = process.env): MailerOptions {
  const envAdmins = env.WEBJOBS_ADMINS?.split(',').map((s) => s.trim()).filter(Boolean);
  const timeoutSeconds = config.number('mail.timeoutSeconds', 15, { min: 1, max: 600 });
  return {
    url: env.SMTP_URL || config.string('mail.url'),
    from: config.string('mail.from'),
    admins: envAdmins && envAdmins.length ? envAdmins : config.stringList('mail.admins', []),
    retryDelaysMs: retryDelays(config),
    timeoutMs: timeoutSeconds * 1000,
  };
}

function retryDelays(config: Config): number[] | undefined {
  const v = config.get('mail.retryDelaysMs');
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'number' || x < 0)) {
    throw new UsageError('config mail.retryDelaysMs must be a list of milliseconds');
  }
  return v as number[];
}

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
      this.transport = nodemailer.createTransport({ url: this.opts.url as string, connectionTimeout: t, greetingTimeout: t, socketTimeout: t });
    }
    return this.transport;
  }

  private get from(): string {
    return this.opts.from ?? `webjobs <webjobs@${os.hostname()}>`;
  }

  async sendEach(recipients: readonly string[], message: MailMessage): Promise<DeliveryReport> {
    const report: DeliveryReport = { sent: [], failed: [] };
    const delays = this.opts.retryDelaysMs ?? [1000, 5000];
    const sleep = this.opts.sleep ?? realSleep;
    for (const to of recipients) {
      for (let attempt = 0; ; attempt++) {
        try {
          await this.transporter.sendMail({ from: this.from, to, ...message });
          report.sent.push(to);
          break;
        } catch (err) {
          const delay = delays[attempt];
          if (delay !== undefined && isTransientSmtpError(err)) {
            await sleep(delay);
            continue;
          }
          report.failed.push({ to, error: this.clean(errorMessage(err)) });
          break;
        }
      }
    }
    return report;
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
