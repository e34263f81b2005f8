#!/usr/bin/env node
// Runs test/faults and writes its outcome, one row per test, into docs/promises.md between the
// faults markers: the "what we promise" table comes from the suite's own output.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const report = path.join(root, 'var', 'faults-report.json');
fs.mkdirSync(path.dirname(report), { recursive: true });
const run = spawnSync('npx', ['vitest', 'run', 'test/faults', '--reporter=json', `--outputFile=${report}`], {
  cwd: root,
  stdio: ['ignore', 'inherit', 'inherit'],
});
const results = JSON.parse(fs.readFileSync(report, 'utf8'));

const outcome = { passed: 'kept', failed: '**broken**', skipped: 'not run', pending: 'not run', todo: 'not run' };
const rows = [];
for (const file of results.testResults.sort((a, b) => a.name.localeCompare(b.name))) {
  for (const t of file.assertionResults) {
    const where = t.ancestorTitles.join(' › ');
    rows.push(
      `| ${where.replace(/\|/g, '\\|')} | ${t.title.replace(/\|/g, '\\|').replace(/\n/g, '\\n')} | ${outcome[t.status] ?? t.status} |`,
    );
  }
}
const table = [
  `${rows.length} cases, ${results.numPassedTests} kept, ${results.numFailedTests} broken (last run ${new Date().toISOString().slice(0, 10)}).`,
  '',
  '| situation | promise | outcome |',
  '|---|---|---|',
  ...rows,
].join('\n');
const promisesPath = path.join(root, 'docs', 'promises.md');
const promises = fs.readFileSync(promisesPath, 'utf8');
const updated = promises.replace(/(<!-- faults:begin -->\n)[\s\S]*?(<!-- faults:end -->)/, `$1${table}\n$2`);
fs.writeFileSync(promisesPath, updated);
console.log(`docs/promises.md: ${rows.length} cases written`);
process.exit(run.status ?? 1);
