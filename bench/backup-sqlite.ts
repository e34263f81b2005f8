/**
 * backup-db on SQLite against `sqlite3 FILE ".dump api_requests" | gzip -N -<level>`, at levels
 * 6 and 9, alternating in one run, on a SQLite file holding ROWS (default 1,000,000) generated
 * api_requests rows. Prints wall time, the ratio, and each side's peak RSS (GNU time's maximum
 * resident set size: for the pipeline, its largest process).
 *
 *   npx tsx bench/backup-sqlite.ts            (ROWS=200000 REPS=1 for a quick look)
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { openDatabase } from '../src/db/connect.js';
import { createReferenceSchema } from '../src/db/schema.js';

import { median, mb, timed, type Measure } from './timing.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROWS = Number(process.env.ROWS ?? 1_000_000);
const REPS = Number(process.env.REPS ?? 2);
const LEVELS = (process.env.LEVELS ?? '6,9').split(',').map(Number);

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'cli', 'main.js')))
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'webjobs-bench-sqlite-'));
  try {
    const file = path.join(work, 'app.sqlite');
    const db = await openDatabase(`sqlite:${file}`);
    await createReferenceSchema(db);
    await db.close();
    console.log(`generating ${ROWS.toLocaleString('en')} api_requests rows…`);
    const raw = new Database(file);
    const ins = raw.prepare(
      'INSERT INTO api_requests (widget_id, platform, status_code, response_time_ms, cache_hit, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    const platforms = ['web', 'ios', 'android', 'wordpress'];
    const codes = [200, 200, 200, 200, 200, 200, 304, 404, 429, 500];
    const base = Date.parse('2026-10-01T00:00:00Z');
    raw.transaction(() => {
      for (let i = 1; i <= ROWS; i++) {
        const at = new Date(base + i * 5000).toISOString().slice(0, 19).replace('T', ' ');
        ins.run(
          1 + ((i * 7919) % 5000),
          platforms[(i * 31) % 4],
          codes[(i * 17) % 10],
          5 + ((i * 104729) % 2000),
          (i * 13) % 3 === 0 ? 1 : 0,
          at,
        );
      }
    })();
    raw.close();
    console.log(`  file ${mb(fs.statSync(file).size)}`);
    const config = path.join(work, 'webjobs.json');
    fs.writeFileSync(config, JSON.stringify({ backup: { critical: ['api_requests'], retentionDays: 36500 } }));
    const results: Record<number, { webjobs: Measure[]; sqlite3: Measure[] }> = {};
    for (const level of LEVELS) {
      results[level] = { webjobs: [], sqlite3: [] };
      for (let rep = 0; rep < REPS; rep++) {
        const order = rep % 2 === 0 ? ['sqlite3', 'webjobs'] : ['webjobs', 'sqlite3'];
        for (const side of order) {
          const out = path.join(work, `${side}-${level}-${rep}`);
          if (side === 'webjobs') {
            fs.mkdirSync(out);
            results[level]?.webjobs.push(
              timed(
                `node ${path.join(ROOT, 'bin', 'webjobs.js')} backup-db --db sqlite:${file} --type critical --level ${level} --out ${out} --config ${config}`,
                { TZ: 'UTC' },
                out,
              ),
            );
          } else {
            results[level]?.sqlite3.push(
              timed(
                `sqlite3 ${file} ".dump api_requests" | gzip -N -${level} > ${out}.sql.gz`,
                { TZ: 'UTC' },
                `${out}.sql.gz`,
              ),
            );
          }
        }
        const w = results[level]?.webjobs.at(-1) as Measure;
        const s = results[level]?.sqlite3.at(-1) as Measure;
        console.log(
          `level ${level} run ${rep + 1}: webjobs ${w.seconds.toFixed(2)} s (CPU ${w.cpu.toFixed(2)} s) ${w.rssMb.toFixed(0)} MB RSS ${mb(w.bytes)} | sqlite3 .dump|gzip ${s.seconds.toFixed(2)} s (CPU ${s.cpu.toFixed(2)} s) ${s.rssMb.toFixed(0)} MB RSS ${mb(s.bytes)}`,
        );
        fs.rmSync(path.join(work, `webjobs-${level}-${rep}`), { recursive: true, force: true });
        fs.rmSync(path.join(work, `sqlite3-${level}-${rep}.sql.gz`), { force: true });
      }
    }
    console.log(
      `\n${ROWS.toLocaleString('en')} api_requests rows, median of ${REPS} (alternating), ${os.availableParallelism()} CPUs, load ${os.loadavg()[0]?.toFixed(1)}`,
    );
    console.log(
      '| level | webjobs | sqlite3 .dump \\| gzip | ratio | CPU s webjobs / sqlite3\\|gzip | webjobs peak RSS | sqlite3\\|gzip peak RSS | webjobs file | sqlite3 file |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|');
    for (const level of LEVELS) {
      const r = results[level] as { webjobs: Measure[]; sqlite3: Measure[] };
      const w = median(r.webjobs.map((m) => m.seconds));
      const s = median(r.sqlite3.map((m) => m.seconds));
      console.log(
        `| ${level} | ${w.toFixed(2)} s | ${s.toFixed(2)} s | ${(w / s).toFixed(2)}× | ${median(r.webjobs.map((m) => m.cpu)).toFixed(2)} / ${median(r.sqlite3.map((m) => m.cpu)).toFixed(2)} | ${Math.max(...r.webjobs.map((m) => m.rssMb)).toFixed(0)} MB | ${Math.max(...r.sqlite3.map((m) => m.rssMb)).toFixed(0)} MB | ${mb(r.webjobs[0]?.bytes ?? 0)} | ${mb(r.sqlite3[0]?.bytes ?? 0)} |`,
      );
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
