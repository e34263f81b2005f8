/* global performance, setImmediate */
// The app, as far as the cache table is concerned: a separate process that keeps inserting,
// reading and updating rows while a cleanup runs. Line protocol on stdin: "count" prints
// "count <ops> <errors>", "stop" prints a JSON report and exits.
// Usage: node writer.mjs sqlite <file> | node writer.mjs mariadb <url>
import readline from 'node:readline';

const [engine, target] = process.argv.slice(2);
const q = (sql) => (engine === 'sqlite' ? sql : sql.replace(/"/g, '`'));
let exec;
let close;
if (engine === 'sqlite') {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(target, { timeout: 5000 });
  db.pragma('journal_mode = WAL');
  exec = async (sql, params) => {
    const stmt = db.prepare(q(sql));
    return stmt.reader ? stmt.all(...params) : stmt.run(...params);
  };
  close = async () => db.close();
} else {
  const { default: mysql } = await import('mysql2/promise');
  const conn = await mysql.createConnection(target);
  exec = async (sql, params) => (await conn.query(q(sql), params))[0];
  close = async () => conn.end();
}

let ops = 0;
let stopping = false;
let maxLatencyMs = 0;
const errors = [];
const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (line === 'count') process.stdout.write(`count ${ops} ${errors.length}\n`);
  if (line === 'stop') stopping = true;
});

let n = 0;
process.stdout.write('ready\n');
while (!stopping) {
  n++;
  const t0 = performance.now();
  try {
    await exec('INSERT INTO cache ("key", value, expires_at) VALUES (?, ?, ?)', [
      `writer:${process.pid}:${n}`,
      `value ${n}`,
      '2099-01-01 00:00:00',
    ]);
    await exec('SELECT value FROM cache WHERE "key" = ?', [`live:${String(n % 500).padStart(6, '0')}`]);
    await exec('UPDATE cache SET value = ? WHERE "key" = ?', [
      `touched ${n}`,
      `live:${String((n * 7) % 500).padStart(6, '0')}`,
    ]);
    await exec('SELECT COUNT(*) AS n FROM cache WHERE expires_at > ?', ['2098-12-31 00:00:00']);
    ops++;
  } catch (err) {
    errors.push(String(err && err.message ? err.message : err));
  }
  maxLatencyMs = Math.max(maxLatencyMs, performance.now() - t0);
  await new Promise((r) => setImmediate(r));
}
await close();
process.stdout.write(JSON.stringify({ ops, errors, maxLatencyMs, inserted: n }) + '\n');
rl.close();
