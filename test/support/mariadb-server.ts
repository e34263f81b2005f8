import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';

/**
 * A real MariaDB server (Debian's mariadb-server) on a private data directory and port,
 * for tests and benchmarks. Nothing here touches a system-wide server.
 */
export interface PrivateMariaDb {
  port: number;
  socket: string;
  dataDir: string;
  user: string;
  password: string;
  /** mysql:// URL for the given database (no database: the server only). */
  url(database?: string): string;
  stop(): Promise<void>;
}

const CANDIDATE_DIRS = ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin', '/usr/libexec'];

export function findBinary(names: string[]): string | null {
  const dirs = [...(process.env.PATH ?? '').split(':'), ...CANDIDATE_DIRS];
  for (const name of names) {
    for (const dir of dirs) {
      const p = path.join(dir, name);
      if (dir && fs.existsSync(p)) return p;
    }
  }
  return null;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

const MISSING =
  'MariaDB is not installed (no mariadbd/mariadb-install-db). Install it with: apt-get install -y mariadb-server mariadb-client — or run `npm run test:all`, which does.';

/** `binlog`: write a row-format binary log (as a primary with replicas or point-in-time recovery does). */
export async function startMariaDb(options: { bufferPoolMb?: number; binlog?: boolean } = {}): Promise<PrivateMariaDb> {
  const server = findBinary(['mariadbd', 'mysqld']);
  const installDb = findBinary(['mariadb-install-db', 'mysql_install_db']);
  if (!server || !installDb) throw new Error(MISSING);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'webjobs-mariadb-'));
  const socket = path.join(dataDir, 'mysqld.sock');
  // The bootstrap has been seen to crash (signal 11) on a loaded machine; a fresh try succeeds.
  for (let attempt = 1; ; attempt++) {
    const install = spawnSync(
      installDb,
      [
        '--no-defaults',
        `--datadir=${dataDir}`,
        '--user=root',
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
      ],
      { encoding: 'utf8' },
    );
    if (install.status === 0) break;
    if (attempt >= 3) throw new Error(`mariadb-install-db failed: ${install.stderr || install.stdout}`);
    for (const entry of fs.readdirSync(dataDir)) fs.rmSync(path.join(dataDir, entry), { recursive: true, force: true });
  }
  const tmpDir = path.join(dataDir, 'tmp');
  fs.mkdirSync(tmpDir);
  const port = await freePort();
  const child: ChildProcess = spawn(
    server,
    [
      '--no-defaults',
      `--datadir=${dataDir}`,
      `--socket=${socket}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      '--user=root',
      `--pid-file=${path.join(dataDir, 'mysqld.pid')}`,
      `--log-error=${path.join(dataDir, 'error.log')}`,
      // Its own temporary folder: a test that cleans old files in the system's must not reach the server's.
      `--tmpdir=${tmpDir}`,
      `--innodb-buffer-pool-size=${options.bufferPoolMb ?? 256}M`,
      '--innodb-log-file-size=128M',
      '--innodb-flush-log-at-trx-commit=2',
      ...(options.binlog
        ? [`--log-bin=${path.join(dataDir, 'binlog')}`, '--server-id=1', '--binlog-format=ROW']
        : ['--skip-log-bin']),
      '--max-allowed-packet=64M',
      '--max-connections=300',
      '--character-set-server=utf8mb4',
      '--collation-server=utf8mb4_unicode_ci',
    ],
    { stdio: 'ignore', detached: false },
  );
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  const user = 'webjobs';
  const password = 'test-secret-Pw9';
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (exited)
      throw new Error(
        `mariadbd exited at start: ${fs.readFileSync(path.join(dataDir, 'error.log'), 'utf8').slice(-2000)}`,
      );
    try {
      const conn = await mysql.createConnection({ socketPath: socket, user: 'root' });
      await conn.query(`CREATE USER IF NOT EXISTS '${user}'@'%' IDENTIFIED BY '${password}'`);
      await conn.query(`CREATE USER IF NOT EXISTS '${user}'@'localhost' IDENTIFIED BY '${password}'`);
      await conn.query(`GRANT ALL PRIVILEGES ON *.* TO '${user}'@'%' WITH GRANT OPTION`);
      await conn.query(`GRANT ALL PRIVILEGES ON *.* TO '${user}'@'localhost' WITH GRANT OPTION`);
      await conn.end();
      break;
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(`MariaDB did not start within 90 s: ${(err as Error).message}`, { cause: err });
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return {
    port,
    socket,
    dataDir,
    user,
    password,
    url: (database = '') => `mysql://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
    stop: async () => {
      if (!exited) {
        child.kill('SIGTERM');
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            child.kill('SIGKILL');
            resolve();
          }, 30_000);
          child.on('exit', () => {
            clearTimeout(t);
            resolve();
          });
        });
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
