import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: Buffer;
}

export interface SmtpSink {
  url: string;
  port: number;
  messages: ReceivedMail[];
  /** RCPT TO attempts per address (refused and transiently failed ones included). */
  rcptAttempts: Map<string, number>;
  close(): Promise<void>;
}

export interface SmtpSinkOptions {
  /** Addresses refused for good (550 at RCPT TO). */
  refuse?: string[];
  /** Address → how many times to answer 451 (try again later) before accepting it. */
  transient?: Record<string, number>;
}

/** A real SMTP server in the test process (the smtp-server package) that keeps every message. */
export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const messages: ReceivedMail[] = [];
  const rcptAttempts = new Map<string, number>();
  const transientLeft = new Map(Object.entries(options.transient ?? {}));
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    disableReverseLookup: true,
    onRcptTo(address, _session, cb) {
      const a = address.address;
      rcptAttempts.set(a, (rcptAttempts.get(a) ?? 0) + 1);
      if (options.refuse?.includes(a))
        return cb(Object.assign(new Error('mailbox unavailable'), { responseCode: 550 }));
      const left = transientLeft.get(a) ?? 0;
      if (left > 0) {
        transientLeft.set(a, left - 1);
        return cb(Object.assign(new Error('mailbox busy, try again later'), { responseCode: 451 }));
      }
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (d: Buffer) => chunks.push(d));
      stream.on('end', () => {
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
        });
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as { port: number }).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    messages,
    rcptAttempts,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
