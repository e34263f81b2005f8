import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { ENGINES, tempDir, type TestDatabase } from '../support/databases.js';
import { demoDatabase } from '../support/fixtures.js';
import { startSmtpServer } from '../support/smtp.js';

type Behaviour = 'silent' | 'close-mid-message';

/** A raw TCP peer that misbehaves the way broken mail servers do. */
async function brokenSmtp(behaviour: Behaviour): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    if (behaviour === 'silent') return; // accepts, never greets
    socket.write('220 broken.test ESMTP\r\n');
    let inData = false;
    socket.on('data', (chunk) => {
      if (inData) {
        socket.destroy(); // hangs up in the middle of the message
        return;
      }
      for (const line of chunk.toString().split('\r\n').filter(Boolean)) {
        if (/^DATA/i.test(line)) {
          inData = true;
          socket.write('354 go ahead\r\n');
        } else if (/^QUIT/i.test(line)) socket.end('221 bye\r\n');
        else socket.write('250 ok\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe.each(ENGINES)(
  'mail failing on $engine: the job finishes, with a warning, within the mail timeouts',
  ({ create }) => {
    let t: TestDatabase;
    let work: string;
    beforeAll(async () => {
      t = await create();
      await demoDatabase(t.db, 500);
      work = tempDir();
      fs.writeFileSync(
        path.join(work, 'webjobs.config.json'),
        JSON.stringify({ mail: { timeoutSeconds: 2, retryDelaysMs: [200] } }),
      );
    });
    afterAll(async () => {
      await t?.cleanup();
      fs.rmSync(work, { recursive: true, force: true });
    });

    async function backupWithMail(url: string) {
      const out = path.join(work, `b-${Date.now()}`);
      const t0 = Date.now();
      const r = await runCli(['backup-db', '--json', '--out', out], {
        cwd: work,
        env: { DATABASE_URL: t.url, SMTP_URL: url, WEBJOBS_ADMINS: 'ops@example.test' },
      });
      return { r, seconds: (Date.now() - t0) / 1000, files: fs.readdirSync(out).filter((n) => n.endsWith('.sql.gz')) };
    }

    it('an SMTP server that refuses the recipient: exit 0, warning, backup kept', async () => {
      const smtp = await startSmtpServer({ refuse: () => true });
      try {
        const { r, files } = await backupWithMail(smtp.url);
        expect(r.code).toBe(0);
        expect(JSON.parse(r.stdout).warnings.join('\n')).toMatch(/mail to ops@example.test failed/);
        expect(files).toHaveLength(1);
      } finally {
        await smtp.close();
      }
    });

    it.each([
      ['never answers', 'silent'],
      ['hangs up in the middle of the message', 'close-mid-message'],
    ] as const)(
      'an SMTP server that %s: exit 0 with a warning within the timeouts (2 tries × 2 s), backup kept',
      async (_what, behaviour) => {
        const smtp = await brokenSmtp(behaviour);
        try {
          const { r, seconds, files } = await backupWithMail(smtp.url);
          expect(r.code).toBe(0);
          expect(JSON.parse(r.stdout).warnings.join('\n')).toMatch(/mail to ops@example.test failed/);
          expect(seconds).toBeLessThan(15);
          expect(files).toHaveLength(1);
        } finally {
          await smtp.close();
        }
      },
    );
  },
);
