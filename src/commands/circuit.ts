import { Command } from '../cli/commander.js';
import { action } from '../cli/action.js';
import { addCommonOptions, examples, globalOptions } from '../cli/common-options.js';
import { buildEnvironment } from '../cli/environment.js';
import { printJson } from '../cli/output.js';
import { circuitPolicy, logTransition } from '../circuit/policy.js';
import { circuitStatus } from '../circuit/status.js';
import { CircuitStore } from '../circuit/store.js';
import { Settings } from '../config/settings.js';
import { TableMap } from '../config/tables.js';
import { UsageError } from '../util/errors.js';

export function register(program: Command): void {
  const circuit = program
    .command('circuit')
    .description("warm-cache's circuit breakers: one per platform, kept in webjobs_circuits");

  const status = circuit
    .command('status')
    .description('Each platform: state, failure count, success rate, when it opened and when it will half-open');
  addCommonOptions(status);
  examples(status, ['webjobs circuit status', 'webjobs circuit status --json']);
  status.action(
    action(async () => {
      const env = buildEnvironment(globalOptions(status));
      const db = await env.openDb();
      try {
        const settings = await Settings.load(db, env.config, new TableMap(env.config));
        const s = circuitStatus(await CircuitStore.list(db), settings, env.clock.now(), env.config.timezone);
        if (env.json) {
          printJson(s);
          return 0;
        }
        const out = process.stdout;
        out.write(
          `${s.total_platforms} platform(s): ${s.closed} closed, ${s.open} open, ${s.half_open} half-open; ${s.total_requests} request(s), ${s.total_failures} failure(s)${s.enabled ? '' : ' (circuit breaker disabled)'}\n`,
        );
        for (const p of s.platforms) {
          const rate = p.success_rate === null ? '-' : `${p.success_rate}%`;
          const when =
            p.state === 'open'
              ? `  opened ${p.opened_at}, half-open at ${p.half_open_at}`
              : p.state === 'half_open'
                ? `  opened ${p.opened_at}, ${p.trials_in_flight} trial(s) in flight`
                : '';
          out.write(
            `${p.platform.padEnd(20)} ${p.state.padEnd(9)} failures ${String(p.failure_count).padStart(4)}  success ${rate.padStart(6)}${when}\n`,
          );
        }
        return 0;
      } finally {
        await db.close();
      }
    }),
  );

  const reset = circuit
    .command('reset')
    .description('Close one circuit (or all): failure count to 0, trial slots freed')
    .argument('[platform]', 'the platform (default: every circuit)');
  addCommonOptions(reset);
  examples(reset, ['webjobs circuit reset booking', 'webjobs circuit reset']);
  reset.action(
    action(async (platform: string | undefined) => {
      const env = buildEnvironment(globalOptions(reset));
      const db = await env.openDb();
      try {
        if (platform !== undefined && !(await CircuitStore.get(db, platform))) {
          const known = (await CircuitStore.list(db)).map((c) => c.platform);
          throw new UsageError(
            `no circuit for platform ${JSON.stringify(platform)} (known: ${known.length ? known.join(', ') : 'none'})`,
          );
        }
        const settings = await Settings.load(db, env.config, new TableMap(env.config));
        const store = new CircuitStore(db, env.clock, circuitPolicy(settings, 10_000), logTransition(env.logger));
        const changed = await store.reset(platform);
        const total = platform ? 1 : (await CircuitStore.list(db)).length;
        env.logger.info(`${changed.length} circuit(s) closed by reset, ${total} checked`);
        if (env.json)
          printJson({ reset: changed.map((t) => ({ platform: t.platform, from: t.from, to: t.to })), checked: total });
        return 0;
      } finally {
        await db.close();
      }
    }),
  );
}
