import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/mariadb-server.js';
import { runCli } from '../support/cli.js';
import { tempDir } from '../support/databases.js';
import { parsePrometheusText, runFixture } from './support.js';

interface Hit {
  method: string;
  path: string;
  rid: string | null;
  body: string;
}

describe('monitoring: healthchecks pings to a real HTTP server, Prometheus textfile', () => {
  let work: string;
  let server: http.Server;
  let port: number;
  let hits: Hit[] = [];
  let failNext = 0;
  let metricsDir: string;
  const dbUrl = () => `sqlite:${path.join(work, 'app.sqlite')}`;

  const config = (extra: Record<string, unknown> = {}) => {
    const file = path.join(work, `cfg-${Math.random().toString(36).slice(2)}.json`);
    fs.writeFileSync(
      file,
      JSON.stringify({
        timezone: 'UTC',
        database: { url: dbUrl() },
        monitor: {
          pings: { sleepy: `http://127.0.0.1:${port}/ping/abc-123` },
          pingRetryDelayMs: 50,
          textfileDir: metricsDir,
          ...extra,
        },
      }),
    );
    return file;
  };

  beforeAll(async () => {
    work = tempDir();
    metricsDir = path.join(work, 'textfile');
    fs.mkdirSync(metricsDir);
    port = await freePort();
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const u = new URL(req.url ?? '/', 'http://x');
        hits.push({ method: req.method ?? '', path: u.pathname, rid: u.searchParams.get('rid'), body });
        if (failNext > 0) {
          failNext--;
          res.writeHead(503).end('try later');
          return;
        }
        res.writeHead(200).end('OK');
      });
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
    expect((await runCli(['init', '--db', dbUrl()], { cwd: work })).code).toBe(0);
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    fs.rmSync(work, { recursive: true, force: true });
  });

  const metrics = () => parsePrometheusText(fs.readFileSync(path.join(metricsDir, 'webjobs.prom'), 'utf8'));
  const value = (name: string, job: string) =>
    fs.existsSync(path.join(metricsDir, 'webjobs.prom'))
      ? metrics().samples.find((s) => s.name === name && s.labels.job === job)?.value
      : undefined;

  it(
    'a success pings URL/start then URL, with the same rid and the log tail as the body; metrics written',
    { timeout: 60_000 },
    async () => {
      hits = [];
      const r = await runFixture(['sleepy', '--ms', '20', '--json', '--config', config()], { cwd: work });
      expect(r.code, r.stderr).toBe(0);
      const s = JSON.parse(r.stdout);
      expect(hits.map((h) => `${h.method} ${h.path}`)).toEqual(['POST /ping/abc-123/start', 'POST /ping/abc-123']);
      expect(hits.map((h) => h.rid)).toEqual([s.runId, s.runId]);
      expect(hits[1]?.body).toMatch(/sleepy woke up/);
      expect(hits[1]?.body).toMatch(/sleepy started/);
      // The textfile: valid exposition, the four gauges, this run's values.
      const m = metrics();
      expect([...m.types.entries()]).toEqual([
        ['webjobs_last_run_timestamp_seconds', 'gauge'],
        ['webjobs_last_success_timestamp_seconds', 'gauge'],
        ['webjobs_last_duration_seconds', 'gauge'],
        ['webjobs_last_exit_code', 'gauge'],
      ]);
      expect(value('webjobs_last_exit_code', 'sleepy')).toBe(0);
      // The run is stamped when it takes its lock: after the invocation started, before it ended.
      const invokedAt = Date.parse(s.startedAt) / 1000;
      expect(value('webjobs_last_run_timestamp_seconds', 'sleepy')).toBeGreaterThanOrEqual(invokedAt - 0.001);
      expect(value('webjobs_last_run_timestamp_seconds', 'sleepy')).toBeLessThanOrEqual(
        invokedAt + s.durationMs / 1000,
      );
      expect(value('webjobs_last_success_timestamp_seconds', 'sleepy')).toBeGreaterThanOrEqual(
        Date.parse(s.startedAt) / 1000,
      );
      expect(value('webjobs_last_duration_seconds', 'sleepy')).toBeGreaterThan(0);
      expect(fs.readdirSync(metricsDir)).toEqual(['webjobs.prom']);
    },
  );

  it(
    'a failure pings URL/start then URL/fail with the error in the body; the exit code metric turns 1, last success stays',
    { timeout: 60_000 },
    async () => {
      const lastSuccess = value('webjobs_last_success_timestamp_seconds', 'sleepy');
      hits = [];
      const r = await runFixture(['sleepy', '--ms', '10', '--fail', '--json', '--config', config({ pingRetries: 0 })], {
        cwd: work,
        env: {},
      });
      expect(r.code).toBe(1);
      const s = JSON.parse(r.stdout);
      expect(hits.map((h) => `${h.path} ${h.rid}`)).toEqual([
        `/ping/abc-123/start ${s.runId}`,
        `/ping/abc-123/fail ${s.runId}`,
      ]);
      expect(hits[1]?.body).toMatch(/sleepy failed: sleepy was told to fail/);
      expect(value('webjobs_last_exit_code', 'sleepy')).toBe(1);
      expect(value('webjobs_last_success_timestamp_seconds', 'sleepy')).toBe(lastSuccess);
    },
  );

  it('a server error is retried; a run skipped by the lock pings nothing', { timeout: 60_000 }, async () => {
    hits = [];
    failNext = 2;
    const r = await runFixture(['sleepy', '--ms', '10', '--json', '--config', config({ pingRetries: 3 })], {
      cwd: work,
    });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).warnings).toEqual([]);
    expect(hits.map((h) => h.path)).toEqual([
      '/ping/abc-123/start',
      '/ping/abc-123/start',
      '/ping/abc-123/start',
      '/ping/abc-123',
    ]);

    const { openDatabase } = await import('../../src/db/connect.js');
    const db = await openDatabase(dbUrl());
    const now = Date.now();
    await db.execute(
      'INSERT INTO webjobs_locks (name, owner, run_id, host, pid, acquired_at_ms, lease_until_ms) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ['sleepy', 'x', null, 'app-2', 7, now, now + 600_000],
    );
    hits = [];
    const skipped = await runFixture(['sleepy', '--ms', '10', '--json', '--config', config()], { cwd: work });
    expect(JSON.parse(skipped.stdout).status).toBe('skipped');
    expect(hits).toEqual([]);
    await db.execute("DELETE FROM webjobs_locks WHERE name = 'sleepy'");
    await db.close();
  });

  it('a monitor that cannot be reached is a warning, never a job failure', { timeout: 60_000 }, async () => {
    const closed = await freePort();
    const cfg = config({
      pings: { sleepy: `http://127.0.0.1:${closed}/ping/nobody` },
      pingRetries: 1,
      pingTimeoutSeconds: 2,
    });
    const r = await runFixture(['sleepy', '--ms', '10', '--json', '--config', cfg], { cwd: work });
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.status).toBe('succeeded');
    expect(s.warnings).toEqual([
      expect.stringMatching(/^monitor start ping failed: http:\/\/127\.0\.0\.1:\d+\/…: fetch failed/),
      expect.stringMatching(/^monitor finish report failed: /),
    ]);
    expect(r.stderr).toMatch(/WARN {2}monitor start ping failed/);
  });

  it(
    'when the database cannot be reached, the metrics still record the failed run (from the run itself)',
    { timeout: 60_000 },
    async () => {
      const before = value('webjobs_last_success_timestamp_seconds', 'sleepy');
      const closed = await freePort();
      const cfg = config({ pings: {} });
      const data = JSON.parse(fs.readFileSync(cfg, 'utf8'));
      fs.writeFileSync(
        cfg,
        JSON.stringify({ ...data, database: { url: `mysql://u:p@127.0.0.1:${closed}/x` }, retry: { tries: 1 } }),
      );
      const r = await runFixture(['sleepy', '--ms', '10', '--json', '--config', cfg], { cwd: work });
      expect(r.code).toBe(1);
      const s = JSON.parse(r.stdout);
      expect(s.warnings).toEqual([expect.stringMatching(/metrics written from this run only \(history unreadable: /)]);
      expect(value('webjobs_last_exit_code', 'sleepy')).toBe(1);
      // The run is stamped when it takes its lock: after the invocation started, before it ended.
      const invokedAt = Date.parse(s.startedAt) / 1000;
      expect(value('webjobs_last_run_timestamp_seconds', 'sleepy')).toBeGreaterThanOrEqual(invokedAt - 0.001);
      expect(value('webjobs_last_run_timestamp_seconds', 'sleepy')).toBeLessThanOrEqual(
        invokedAt + s.durationMs / 1000,
      );
      expect(value('webjobs_last_success_timestamp_seconds', 'sleepy')).toBe(before);
    },
  );

  it('a malformed ping URL is bad configuration: exit 2 before the run', async () => {
    const r = await runFixture(['sleepy', '--ms', '10', '--config', config({ pings: { sleepy: 'ftp://x/y' } })], {
      cwd: work,
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/config monitor.pings.sleepy must be an http\(s\) URL/);
  });
});

describe('monitor helpers', () => {
  it('the test parser rejects what a collector would reject', () => {
    expect(() => parsePrometheusText('webjobs_x{job="a"} 1')).toThrow(/newline/);
    expect(() => parsePrometheusText('webjobs_x{job="a} 1\n')).toThrow(/not a sample|bad labels/);
    expect(() => parsePrometheusText('webjobs_x{job="a"} one\n')).toThrow(/bad value/);
    expect(() => parsePrometheusText('webjobs_x{job="a"} 1\nwebjobs_x{job="a"} 2\n')).toThrow(/duplicate/);
    expect(() => parsePrometheusText('webjobs_x 1\n# TYPE webjobs_x gauge\n')).toThrow(/TYPE after samples/);
  });

  it('renders labels escaped and reads its own file back', async () => {
    const { renderMetrics, readMetrics } = await import('../../src/monitor/textfile.js');
    const values = new Map([
      [
        'odd "job"\\x',
        new Map([
          ['webjobs_last_exit_code', 1],
          ['webjobs_last_duration_seconds', 1.2346],
        ]),
      ],
    ]);
    const text = renderMetrics(values);
    const parsed = parsePrometheusText(text);
    expect(parsed.samples).toEqual([
      { name: 'webjobs_last_duration_seconds', labels: { job: 'odd "job"\\x' }, value: 1.235 },
      { name: 'webjobs_last_exit_code', labels: { job: 'odd "job"\\x' }, value: 1 },
    ]);
    expect(readMetrics(text).get('odd "job"\\x')?.get('webjobs_last_exit_code')).toBe(1);
  });

  it('ping URLs and the body limit', async () => {
    const { pingTarget, lastBytes } = await import('../../src/monitor/healthchecks.js');
    expect(pingTarget('https://hc.example/ping/uuid/', 'start', 'r1')).toBe(
      'https://hc.example/ping/uuid/start?rid=r1',
    );
    expect(pingTarget('https://hc.example/ping/uuid?x=1', 'fail', 'r1')).toBe(
      'https://hc.example/ping/uuid/fail?x=1&rid=r1',
    );
    expect(pingTarget('https://hc.example/ping/uuid', 'success', 'r1')).toBe('https://hc.example/ping/uuid?rid=r1');
    const long = 'é'.repeat(8000); // 16,000 bytes
    const cut = lastBytes(long);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(10_000);
    expect(cut).toBe('é'.repeat(5000));
  });
});
