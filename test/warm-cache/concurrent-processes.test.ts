import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CircuitStore } from '../../src/circuit/store.js';
import { ENGINES, tempDir, type TestDatabase } from '../support/databases.js';
import { ROOT } from '../support/cli.js';

function hammer(
  url: string,
  platform: string,
  failures: number,
  threshold: number,
  go: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(ROOT, 'test/warm-cache/hammer.ts'),
        url,
        platform,
        String(failures),
        String(threshold),
      ],
      {
        cwd: ROOT,
        env: { ...process.env, HAMMER_GO: go },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe.each(ENGINES)('two processes failing one platform at once on $engine', ({ create }) => {
  let t: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    t = await create();
    dir = tempDir();
  });
  afterAll(async () => {
    await t?.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('end with the exact failure count and exactly one closed -> open transition', async () => {
    const go = path.join(dir, 'go');
    const runs = [hammer(t.url, 'booking', 120, 50, go), hammer(t.url, 'booking', 120, 50, go)];
    await new Promise((r) => setTimeout(r, 1500)); // both started and connected
    fs.writeFileSync(go, '');
    const [a, b] = (await Promise.all(runs)) as [Awaited<(typeof runs)[0]>, Awaited<(typeof runs)[1]>];
    expect(a.stderr + b.stderr).toBe('');
    expect([a.code, b.code]).toEqual([0, 0]);
    const c = await CircuitStore.get(t.db, 'booking');
    expect(c).toMatchObject({ state: 'open', failureCount: 240, totalFailures: 240, totalRequests: 240 });
    // Group commit: one version step per committed batch, never more than one per change.
    expect(c!.version).toBeLessThanOrEqual(240);
    const lines = (a.stdout + b.stdout).split('\n').filter((l) => l.startsWith('circuit '));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^circuit booking: closed -> open \(50 consecutive failure\(s\), threshold 50/);
  });
});
