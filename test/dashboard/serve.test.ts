import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli } from '../support/cli.js';
import { ENGINES, tempDir, type TestDatabase } from '../support/databases.js';
import { launchBrowser, outgoing, watchedPage, type TestBrowser } from './browser.js';
import { buildDashboardFixture, NOW } from './fixture.js';

const TOKEN = 's3cret-dashboard-token';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A real HTTP request to the served dashboard (loopback only). */
function request(url: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Starts `webjobs dashboard --serve` on a free loopback port and waits for its address. */
async function serve(t: TestDatabase, work: string, args: string[]) {
  const cli = startCli(['dashboard', '--serve', '--port', '0', '--verbose', ...args], {
    cwd: work,
    env: { DATABASE_URL: t.url, WEBJOBS_NOW: NOW },
  });
  const deadline = Date.now() + 20_000;
  for (;;) {
    const m = /dashboard at (http:\/\/\S+?\/)[;\s]/.exec(cli.output().stderr);
    if (m) return { ...cli, url: m[1]! };
    if (cli.child.exitCode !== null || Date.now() > deadline)
      throw new Error(`dashboard did not start: ${cli.output().stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.each(ENGINES)('dashboard --serve on $engine', ({ create }) => {
  let t: TestDatabase;
  let work: string;
  beforeAll(async () => {
    t = await create();
    await buildDashboardFixture(t.db);
    work = tempDir('webjobs-dashboard-serve-');
    fs.writeFileSync(path.join(work, 'webjobs.config.json'), JSON.stringify({ timezone: 'UTC' }));
  });
  afterAll(async () => {
    await t?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('with a token: 401 without it or with a wrong one, 200 with it (header or query), 405 for POST; security headers; SIGTERM stops it', async () => {
    const s = await serve(t, work, ['--token', TOKEN]);
    try {
      expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const none = await request(s.url);
      expect(none.status).toBe(401);
      expect(none.body).not.toContain('webjobs dashboard');
      const wrong = await request(s.url, { headers: { Authorization: 'Bearer not-the-token-at-all' } });
      expect(wrong.status).toBe(401);
      expect((await request(`${s.url}?token=${TOKEN.slice(0, -1)}`)).status).toBe(401);
      const ok = await request(s.url, { headers: { Authorization: `Bearer ${TOKEN}` } });
      expect(ok.status).toBe(200);
      expect(ok.body).toContain('<tr class="job-row" data-job="aggregate-stats">');
      expect(ok.body).toContain('<meta http-equiv="refresh" content="60">');
      const viaQuery = await request(`${s.url}?token=${encodeURIComponent(TOKEN)}`);
      expect(viaQuery.status).toBe(200);
      for (const r of [none, ok]) {
        expect(r.headers['content-security-policy']).toMatch(
          /^default-src 'none'; style-src 'sha256-[^']+'; img-src data:/,
        );
        expect(r.headers['content-security-policy']).not.toMatch(/unsafe-eval|unsafe-inline/);
        expect(r.headers['cache-control']).toBe('no-store');
        expect(r.headers['x-content-type-options']).toBe('nosniff');
        expect(r.headers['referrer-policy']).toBe('no-referrer');
        expect(r.headers['x-frame-options']).toBe('DENY');
      }
      const post = await request(s.url, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` } });
      expect(post.status).toBe(405);
      expect(post.headers.allow).toBe('GET, HEAD');
      for (const method of ['PUT', 'DELETE', 'PATCH'])
        expect((await request(s.url, { method, headers: { Authorization: `Bearer ${TOKEN}` } })).status).toBe(405);
      const head = await request(s.url, { method: 'HEAD', headers: { Authorization: `Bearer ${TOKEN}` } });
      expect(head.status).toBe(200);
      expect(head.body).toBe('');
      expect((await request(`${s.url}other`, { headers: { Authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
    } finally {
      s.child.kill('SIGTERM');
    }
    const end = await s.done;
    expect(end.code).toBe(0);
    expect(end.stderr).toMatch(/SIGTERM: stopping the dashboard/);
    // Requests are logged (--verbose), by path only: the token never reaches the log.
    expect(end.stderr).toMatch(/GET \/ 401/);
    expect(end.stderr).toMatch(/GET \/ 200/);
    expect(end.stderr).not.toContain(TOKEN);
  });

  it('without a token on loopback: 200 for everyone on this machine; SIGINT stops it too', async () => {
    const s = await serve(t, work, []);
    try {
      const r = await request(s.url);
      expect(r.status).toBe(200);
      expect(r.headers['cache-control']).toBe('no-store');
    } finally {
      s.child.kill('SIGINT');
    }
    expect((await s.done).code).toBe(0);
  });

  it('the token can come from config dashboard.token', async () => {
    const cfg = path.join(work, 'token.json');
    fs.writeFileSync(cfg, JSON.stringify({ timezone: 'UTC', dashboard: { token: TOKEN } }));
    const s = await serve(t, work, ['--config', cfg]);
    try {
      expect((await request(s.url)).status).toBe(401);
      expect((await request(s.url, { headers: { Authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    } finally {
      s.child.kill('SIGTERM');
    }
    expect((await s.done).stderr).not.toContain(TOKEN);
  });
});

describe('dashboard --serve host rules', () => {
  let t: TestDatabase;
  let work: string;
  let browser: TestBrowser;
  beforeAll(async () => {
    t = await ENGINES[0]!.create();
    await buildDashboardFixture(t.db);
    work = tempDir('webjobs-dashboard-host-');
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it.each(['0.0.0.0', '192.0.2.10', '::'])(
    'a non-loopback host (%s) without a token exits 2 before listening',
    async (host) => {
      const r = await runCli(['dashboard', '--serve', '--host', host, '--port', '0'], {
        cwd: work,
        env: { DATABASE_URL: t.url },
      });
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/reachable from other machines: set --token or config dashboard.token/);
    },
  );

  it('the served page in Chromium: no console error (the CSP header holds), nothing fetched, refresh tag present', async () => {
    const s = await serve(t, work, ['--token', TOKEN]);
    try {
      const url = `${s.url}?token=${TOKEN}`;
      const watch = await watchedPage(browser, url);
      const res = await watch.page.goto(url);
      expect(res?.status()).toBe(200);
      expect(await watch.page.locator('tr.job-row').count()).toBeGreaterThan(6);
      expect(await watch.page.locator('meta[http-equiv="refresh"]').getAttribute('content')).toBe('60');
      await watch.page.screenshot({ path: path.join(browser.dir, 'served.png'), fullPage: true });
      expect(watch.consoleErrors).toEqual([]);
      expect(outgoing(watch)).toEqual([]);
      await watch.page.close();
    } finally {
      s.child.kill('SIGTERM');
    }
    expect((await s.done).code).toBe(0);
  });
});
