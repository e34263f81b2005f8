import type { JobDefinition } from '../../src/jobs/definition.js';
import { runJob, type RunSummary } from '../../src/runner/runner.js';
import type { TestEnvironment } from './environment.js';

export interface TestRun<R> {
  summary: RunSummary;
  result: R;
  logs: string;
}

/** The one way tests run a job in-process: through the real runner, on the test environment's database and clock. */
export async function runTestJob<O extends object, Resolved, R>(
  def: JobDefinition<O, Resolved, R>,
  options: O,
  env: TestEnvironment,
  { dryRun = false }: { dryRun?: boolean } = {},
): Promise<TestRun<R>> {
  const summary = await runJob(def, options, env, { dryRun, args: {} });
  return { summary, result: summary.result as R, logs: env.logs() };
}
