import { Command } from '../cli/commander.js';
import { action } from '../cli/action.js';
import { addCommonOptions, examples, globalOptions, intOption } from '../cli/common-options.js';
import { buildEnvironment } from '../cli/environment.js';
import { printJson } from '../cli/output.js';
import { RunHistory, type RunRecord } from '../runner/history.js';
import { formatDuration } from '../util/time.js';

export function register(program: Command): void {
  const cmd = program
    .command('history')
    .description('The recorded runs, newest first (from webjobs_runs)')
    .argument('[job]', 'only this job')
    .option('--failed', 'only failed runs')
    .option('--limit <n>', 'at most this many runs', intOption('--limit', 1, 10_000), 20);
  addCommonOptions(cmd);
  examples(cmd, ['webjobs history', 'webjobs history backup-db --failed --limit 5', 'webjobs history --json']);
  cmd.action(
    action(async (job: string | undefined, opts: { failed?: boolean; limit: number }) => {
      const env = buildEnvironment(globalOptions(cmd));
      const db = await env.openDb();
      try {
        const runs: RunRecord[] = (await db.tableExists('webjobs_runs'))
          ? await new RunHistory(db, env.config.timezone).list({
              job,
              status: opts.failed ? 'failed' : undefined,
              limit: opts.limit,
            })
          : [];
        if (env.json) {
          printJson(
            runs.map((r) => ({
              ...r,
              arguments: safeJson(r.arguments),
              result: r.result === null ? null : safeJson(r.result),
            })),
          );
        } else if (!runs.length) {
          env.logger.info(`no ${opts.failed ? 'failed ' : ''}runs recorded${job ? ` for ${job}` : ''}`);
        } else {
          for (const r of runs) {
            const took = r.durationMs === null ? '' : formatDuration(r.durationMs);
            const why = r.error && r.status !== 'succeeded' ? `  ${r.error.split('\n')[0]}` : '';
            process.stdout.write(
              `${r.startedAt}  ${r.job.padEnd(16)} ${r.status.padEnd(9)} ${took.padStart(12)}  ${r.host}:${r.pid}  ${r.runId}${why}\n`,
            );
          }
        }
        return 0;
      } finally {
        await db.close();
      }
    }),
  );
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
