/**
 * backup-db on SQLite against `sqlite3 FILE ".dump api_requests" | gzip -N -<level>`, at levels
 * 6 and 9, alternating in one run, on a SQLite file holding ROWS (default 1,000,000) generated
 * api_requests rows. Prints wall time, the ratio, and each side's peak RSS (GNU time's maximum
 * resident set size: for the pipeline, its largest process).
 *
 *   npx tsx bench/backup-sqlite.ts            (ROWS=200000 REPS=1 for a quick look)
 *   ENCRYPT=1 npx tsx bench/backup-sqlite.ts  (adds a third side, webjobs writing .sql.gz.age to a
 *                                              fresh age key, alternating with the other two: its
 *                                              ratio to sqlite3 .dump | gzip sits beside the plain one)
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
const ENCRYPT = process.env.ENCRYPT === '1';
type Side = 'sqlite3' | 'webjobs' | 'webjobs+age';

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
    const backup = { critical: ['api_requests'], retentionDays: 36500 };
    fs.writeFileSync(config, JSON.stringify({ backup }));
    const ageConfig = path.join(work, 'webjobs-age.json');
    if (ENCRYPT) {
      const key = path.join(work, 'age-key.txt');
      execFileSync('age-keygen', ['-o', key], { stdio: 'ignore' });
      const recipient = execFileSync('age-keygen', ['-y', key]).toString().trim();
      fs.writeFileSync(ageConfig, JSON.stringify({ backup: { ...backup, encrypt: { recipients: [recipient] } } }));
    }
    const sides: Side[] = ENCRYPT ? ['sqlite3', 'webjobs', 'webjobs+age'] : ['sqlite3', 'webjobs'];
    const results: Record<number, Record<Side, Measure[]>> = {};
    for (const level of LEVELS) {
      const r: Record<Side, Measure[]> = { sqlite3: [], webjobs: [], 'webjobs+age': [] };
      results[level] = r;
      for (let rep = 0; rep < REPS; rep++) {
        // Each side goes first in turn, so a slow spell of the machine does not land on one side.
        const order = sides.map((_, i) => sides[(i + rep) % sides.length] as Side);
        for (const side of order) {
          const out = path.join(work, `${side.replace('+', '-')}-${level}-${rep}`);
          if (side === 'sqlite3') {
            r.sqlite3.push(
              timed(
                `sqlite3 ${file} ".dump api_requests" | gzip -N -${level} > ${out}.sql.gz`,
                { TZ: 'UTC' },
                `${out}.sql.gz`,
              ),
            );
            fs.rmSync(`${out}.sql.gz`, { force: true });
          } else {
            fs.mkdirSync(out);
            r[side].push(
              timed(
                `node ${path.join(ROOT, 'bin', 'webjobs.js')} backup-db --db sqlite:${file} --type critical --level ${level} --out ${out} --config ${side === 'webjobs' ? config : ageConfig}`,
                { TZ: 'UTC' },
                out,
              ),
            );
            fs.rmSync(out, { recursive: true, force: true });
          }
        }
        console.log(
          `level ${level} run ${rep + 1}: ${sides
            .map((side) => {
              const m = r[side].at(-1) as Measure;
              return `${side} ${m.seconds.toFixed(2)} s (CPU ${m.cpu.toFixed(2)} s) ${m.rssMb.toFixed(0)} MB RSS ${mb(m.bytes)}`;
            })
            .join(' | ')}`,
        );
      }
    }
    console.log(
      `\n${ROWS.toLocaleString('en')} api_requests rows, median of ${REPS} (alternating), ${os.availableParallelism()} CPUs, load ${os.loadavg()[0]?.toFixed(1)}`,
    );
    console.log(
      '| level | webjobs | sqlite3 .dump \\| gzip | ratio | CPU s webjobs / sqlite3\\|gzip | webjobs peak RSS | sqlite3\\|gzip peak RSS | webjobs file | sqlite3 file |' +
        (ENCRYPT ? ' webjobs+age | ratio | CPU s | peak RSS | file |' : ''),
    );
    console.log('|---|---|---|---|---|---|---|---|---|' + (ENCRYPT ? '---|---|---|---|---|' : ''));
    for (const level of LEVELS) {
      const r = results[level] as Record<Side, Measure[]>;
      const w = median(r.webjobs.map((m) => m.seconds));
      const s = median(r.sqlite3.map((m) => m.seconds));
      const a = ENCRYPT ? median(r['webjobs+age'].map((m) => m.seconds)) : 0;
      console.log(
        `| ${level} | ${w.toFixed(2)} s | ${s.toFixed(2)} s | ${(w / s).toFixed(2)}× | ${median(r.webjobs.map((m) => m.cpu)).toFixed(2)} / ${median(r.sqlite3.map((m) => m.cpu)).toFixed(2)} | ${Math.max(...r.webjobs.map((m) => m.rssMb)).toFixed(0)} MB | ${Math.max(...r.sqlite3.map((m) => m.rssMb)).toFixed(0)} MB | ${mb(r.webjobs[0]?.bytes ?? 0)} | ${mb(r.sqlite3[0]?.bytes ?? 0)} |` +
          (ENCRYPT
            ? ` ${a.toFixed(2)} s | ${(a / s).toFixed(2)}× | ${median(r['webjobs+age'].map((m) => m.cpu)).toFixed(2)} | ${Math.max(...r['webjobs+age'].map((m) => m.rssMb)).toFixed(0)} MB | ${mb(r['webjobs+age'][0]?.bytes ?? 0)} |`
            : ''),
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
