import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/config.js';
import type { Db } from '../db/types.js';
import type { RunObserver, RunSummary } from '../runner/runner.js';
import { summarizeRuns, type JobRunSummary } from '../runner/run-summary.js';
import { migrate } from '../db/migrate.js';
import { errorMessage } from '../util/errors.js';

/**
 * A Prometheus textfile-collector file (`monitor.textfileDir`/webjobs.prom), rewritten atomically
 * after every run from the run history, so every server sharing a database reports the same
 * last success whichever of them ran the job.
 */
const METRICS: ReadonlyArray<{ name: string; help: string }> = [
  {
    name: 'webjobs_last_run_timestamp_seconds',
    help: 'Start of the last run of the job (skipped runs do not count), unix seconds.',
  },
  { name: 'webjobs_last_success_timestamp_seconds', help: 'End of the last successful run of the job, unix seconds.' },
  { name: 'webjobs_last_duration_seconds', help: 'How long the last run of the job took, seconds.' },
  {
    name: 'webjobs_last_exit_code',
    help: 'Exit code of the last run of the job: 0 succeeded, 1 failed, cancelled or abandoned.',
  },
];

type Values = Map<string, Map<string, number>>; // job → metric → value

const labelValue = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export function renderMetrics(values: Values): string {
  const jobs = [...values.keys()].sort();
  const out: string[] = [];
  for (const m of METRICS) {
    out.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} gauge`);
    for (const job of jobs) {
      const v = values.get(job)?.get(m.name);
      if (v !== undefined && Number.isFinite(v))
        out.push(`${m.name}{job="${labelValue(job)}"} ${Number.isInteger(v) ? v : v.toFixed(3)}`);
    }
  }
  return out.join('\n') + '\n';
}

/** Reads back a file this module wrote (the fallback when the database cannot be reached). */
export function readMetrics(text: string): Values {
  const values: Values = new Map();
  for (const line of text.split('\n')) {
    const m = /^(webjobs_[a-z_]+)\{job="((?:[^"\\]|\\.)*)"\} (\S+)$/.exec(line);
    if (!m) continue;
    const job = (m[2] as string).replace(/\\n/g, '\n').replace(/\\(.)/g, '$1');
    if (!values.has(job)) values.set(job, new Map());
    values.get(job)?.set(m[1] as string, Number(m[3]));
  }
  return values;
}

const exitCodeOf = (status: string) => (status === 'succeeded' ? 0 : 1);

function valuesFromHistory(summaries: Iterable<JobRunSummary>): Values {
  const values: Values = new Map();
  for (const s of summaries) {
    const v = new Map<string, number>();
    if (s.lastRun) {
      v.set('webjobs_last_run_timestamp_seconds', s.lastRun.startedMs / 1000);
      if (s.lastRun.durationMs !== null) v.set('webjobs_last_duration_seconds', s.lastRun.durationMs / 1000);
      v.set('webjobs_last_exit_code', exitCodeOf(s.lastRun.status));
    }
    if (s.lastSuccess)
      v.set('webjobs_last_success_timestamp_seconds', (s.lastSuccess.finishedMs ?? s.lastSuccess.startedMs) / 1000);
    if (v.size) values.set(s.job, v);
  }
  return values;
}

/** Writes to a temporary name in the same folder, then renames: the collector never reads half a file. */
function writeAtomically(file: string, text: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    const fd = fs.openSync(tmp, 'w', 0o644);
    try {
      fs.writeSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

export function textfileObserver(config: Config, openDb: () => Promise<Db>): RunObserver[] {
  const dir = config.value('monitor.textfileDir');
  if (!dir) return [];
  const file = path.join(dir, 'webjobs.prom');
  return [
    {
      async onFinish(summary: RunSummary) {
        if (summary.status === 'dry-run') return;
        let values: Values;
        try {
          const db = await openDb();
          try {
            await migrate(db);
            values = valuesFromHistory((await summarizeRuns(db, [summary.job])).values());
          } finally {
            await db.close().catch(() => undefined);
          }
        } catch (err) {
          // No database (the run may have failed for that very reason): update this job from the run itself.
          values = fs.existsSync(file) ? readMetrics(fs.readFileSync(file, 'utf8')) : new Map();
          if (summary.status !== 'skipped') {
            const v = values.get(summary.job) ?? new Map<string, number>();
            v.set('webjobs_last_run_timestamp_seconds', Date.parse(summary.startedAt) / 1000);
            v.set('webjobs_last_duration_seconds', summary.durationMs / 1000);
            v.set('webjobs_last_exit_code', summary.exitCode);
            if (summary.status === 'succeeded')
              v.set(
                'webjobs_last_success_timestamp_seconds',
                (Date.parse(summary.startedAt) + summary.durationMs) / 1000,
              );
            values.set(summary.job, v);
          }
          writeAtomically(file, renderMetrics(values));
          throw new Error(`metrics written from this run only (history unreadable: ${errorMessage(err)})`, {
            cause: err,
          });
        }
        writeAtomically(file, renderMetrics(values));
      },
    },
  ];
}
