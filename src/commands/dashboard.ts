import fs from 'node:fs';
import path from 'node:path';
import { Command } from '../cli/commander.js';
import { action } from '../cli/action.js';
import { addCommonOptions, examples, globalOptions, intOption, pathOption } from '../cli/common-options.js';
import { buildEnvironment, type CommandEnvironment } from '../cli/environment.js';
import { printJson } from '../cli/output.js';
import { collectDashboard } from '../dashboard/data.js';
import { openReadOnly } from '../dashboard/open-readonly.js';
import { renderPage } from '../dashboard/page.js';
import { checkServeOptions, serverAddress, startDashboardServer } from '../dashboard/server.js';
import type { Db } from '../db/types.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { errorMessage, UsageError } from '../util/errors.js';
import { formatBytes, formatDuration } from '../util/time.js';

const REFRESH_SECONDS = 60;

interface DashboardOptions {
  out?: string;
  serve?: boolean;
  port: number;
  host: string;
  token?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('dashboard')
    .description(
      'A status page with charts (jobs, 30-day run timeline, backups, API traffic, circuits, warnings): one self-contained HTML file, or served live; reads the database, never writes it',
    )
    .option('--out <file>', 'write the page to this file (mode 0600, replaced atomically)', pathOption('--out'))
    .option(
      '--serve',
      `serve the page live over HTTP (reloads every ${REFRESH_SECONDS} s); stop with Ctrl-C or SIGTERM`,
    )
    .option('--port <n>', 'port for --serve (0: any free port)', intOption('--port', 0, 65535), 8080)
    .option('--host <address>', 'address for --serve; another than loopback needs a token', '127.0.0.1')
    .option(
      '--token <token>',
      'with --serve: every request must carry it (Authorization: Bearer T, or ?token=T); default config dashboard.token',
    );
  addCommonOptions(cmd);
  examples(cmd, [
    'webjobs dashboard --out var/dashboard.html',
    'webjobs dashboard --serve                         # http://127.0.0.1:8080/',
    'webjobs dashboard --serve --host 0.0.0.0 --token "$(cat /etc/webjobs/dashboard-token)"',
  ]);
  cmd.action(
    action(async (opts: DashboardOptions) => {
      if (Boolean(opts.out) === Boolean(opts.serve)) throw new UsageError('give either --out FILE or --serve');
      const env = buildEnvironment(globalOptions(cmd));
      return opts.serve ? serve(env, opts) : writeOnce(env, opts.out!);
    }),
  );
}

async function open(env: CommandEnvironment): Promise<Db> {
  return openReadOnly(env.databaseUrl, env.config.value('database.busyTimeoutMs'));
}

async function writeOnce(env: CommandEnvironment, out: string): Promise<number> {
  const t0 = performance.now();
  const db = await open(env);
  let html: string;
  let warnings: string[];
  let jobs: number;
  try {
    const data = await collectDashboard(db, env.config, env.clock.now());
    html = renderPage(data);
    warnings = data.warnings;
    jobs = data.jobs.length;
  } finally {
    await db.close();
  }
  const file = path.resolve(out);
  if (!fs.existsSync(path.dirname(file))) throw new UsageError(`--out: folder ${path.dirname(file)} does not exist`);
  writeFileAtomic(path.dirname(file), path.basename(file), html);
  const bytes = Buffer.byteLength(html);
  const ms = performance.now() - t0;
  env.logger.info(
    `wrote ${file} (${formatBytes(bytes)}, ${jobs} job(s), ${warnings.length} warning(s)) in ${formatDuration(ms)}`,
  );
  for (const w of warnings) env.logger.warn(w);
  if (env.json) printJson({ file, bytes, jobs, warnings, durationMs: Math.round(ms) });
  return 0;
}

async function serve(env: CommandEnvironment, opts: DashboardOptions): Promise<number> {
  const token = env.config.valueOr('dashboard.token', opts.token, '--token');
  checkServeOptions(opts.host, token);
  if (token) env.logger.addSecret(token);
  const db = await open(env);
  let server;
  try {
    server = await startDashboardServer({
      host: opts.host,
      port: opts.port,
      token,
      render: async () =>
        renderPage(await collectDashboard(db, env.config, env.clock.now()), { refreshSeconds: REFRESH_SECONDS }),
      log: (line) => env.logger.debug(line),
      onError: (err) => env.logger.error(`dashboard: ${errorMessage(err)}`),
    });
  } catch (err) {
    await db.close();
    throw new Error(`cannot listen on ${opts.host}:${opts.port}: ${errorMessage(err)}`, { cause: err });
  }
  const url = serverAddress(server);
  env.logger.info(`dashboard at ${url}${token ? ' (token required)' : ''}; read-only; Ctrl-C or SIGTERM stops it`);
  if (env.json) printJson({ url, host: opts.host, port: Number(new URL(url).port), tokenRequired: Boolean(token) });
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const stop = (s: NodeJS.Signals) => resolve(s);
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  env.logger.info(`${signal}: stopping the dashboard`);
  // Browsers keep connections open between reloads: idle ones go now, busy ones get 2 s to finish.
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const force = setTimeout(() => server.closeAllConnections(), 2000);
  await closed;
  clearTimeout(force);
  await db.close();
  return 0;
}
