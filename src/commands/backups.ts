import { Command } from '../cli/commander.js';
import { action } from '../cli/action.js';
import { addCommonOptions, examples, globalOptions } from '../cli/common-options.js';
import { buildEnvironment } from '../cli/environment.js';
import { printJson } from '../cli/output.js';
import { BACKUP_TYPES, listBackups } from '../jobs/backup-db/backup-files.js';
import { formatBytes, formatLocalDateTime } from '../util/time.js';
import { folderRetention, retentionRules } from '../backup/folder-retention.js';
import { describeRules } from '../backup/retention.js';
import {
  checkStoredBackup,
  chooseForCheck,
  LocalBackupStore,
  type BackupStore,
  type CheckResult,
} from '../backup/check.js';
import { backupWarnings } from '../backup/health.js';
import { UsageError } from '../util/errors.js';

export function register(program: Command): void {
  const cmd = program
    .command('backups')
    .description('List the backups in the backup folder, newest first; exit 1 when the newest of a type is too old')
    .option('--out <dir>', 'backup folder (default: config backup.dir or ./var/backups)')
    .option('--dry-run-retention', 'show which backups retention would delete, and why (deletes nothing)')
    .option('--check', 're-read stored backups and compare each with its manifest (exit 1 naming any damaged file)')
    .option('--all', 'with --check: every backup')
    .option('--latest', 'with --check: the newest of each type (the default)');
  addCommonOptions(cmd);
  examples(cmd, [
    'webjobs backups',
    'webjobs backups --json   # for monitoring: exit 1 when stale',
    'webjobs backups --dry-run-retention',
    'webjobs backups --check --all',
  ]);
  cmd.action(
    action(
      async (opts: { out?: string; dryRunRetention?: boolean; check?: boolean; all?: boolean; latest?: boolean }) => {
        const env = buildEnvironment(globalOptions(cmd));
        const dir = env.config.valueOr('backup.dir', opts.out, '--out');
        if ((opts.all || opts.latest) && !opts.check) throw new UsageError('--all and --latest go with --check');
        if (opts.all && opts.latest) throw new UsageError('--all and --latest exclude each other');
        if (opts.dryRunRetention) return showRetention(env, dir);
        if (opts.check) return checkBackups(env, [new LocalBackupStore(dir)], Boolean(opts.all));
        const shrinkPercent = env.config.value('backup.shrinkWarnPercent');
        const maxAgeHours = env.config.value('backup.maxAgeHours');
        const now = env.clock.now();
        const nowStamp = formatLocalDateTime(now, env.config.timezone);
        const list = listBackups(dir);
        // Ages from the names' local times, compared in the same zone: no DST guessing from file times.
        const ageHours = (takenAt: string) =>
          (Date.parse(nowStamp.replace(' ', 'T') + 'Z') - Date.parse(takenAt.replace(' ', 'T') + 'Z')) / 3_600_000;
        const rows = list.map((b) => ({
          type: b.type,
          file: b.file,
          takenAt: b.takenAt,
          bytes: b.bytes,
          ageHours: Math.round(ageHours(b.takenAt) * 10) / 10,
        }));
        const stale: string[] = [];
        const newest: Record<string, string | null> = {};
        for (const t of BACKUP_TYPES) {
          const first = rows.find((r) => r.type === t);
          newest[t] = first?.takenAt ?? null;
          if (first && first.ageHours > maxAgeHours) stale.push(`${t} (newest ${first.ageHours} h old)`);
        }
        if (!rows.length) stale.push('no backups at all');
        const warnings = rows.length ? backupWarnings(list, BACKUP_TYPES, shrinkPercent) : [];
        if (env.json) {
          printJson({ dir, maxAgeHours, ok: stale.length === 0, stale, warnings, newest, backups: rows });
        } else {
          for (const w of warnings) env.logger.warn(w);
          for (const r of rows)
            process.stdout.write(
              `${r.takenAt}  ${r.type.padEnd(8)}  ${formatBytes(r.bytes).padStart(10)}  ${String(r.ageHours).padStart(7)} h  ${r.file}\n`,
            );
          if (stale.length)
            env.logger.error(`stale backups in ${dir} (older than ${maxAgeHours} h): ${stale.join(', ')}`);
          else env.logger.info(`${rows.length} backup(s) in ${dir}; newest within ${maxAgeHours} h`);
        }
        return stale.length ? 1 : 0;
      },
    ),
  );
}

/** Every backup of the folder with keep or delete and the reasons, as the next run of its type would decide; nothing deleted. */
function showRetention(env: ReturnType<typeof buildEnvironment>, dir: string): number {
  const now = formatLocalDateTime(env.clock.now(), env.config.timezone);
  const { decisions } = folderRetention(dir, BACKUP_TYPES, env.config, now, { dryRun: true });
  const rules = Object.fromEntries(BACKUP_TYPES.map((t) => [t, retentionRules(env.config, t)]));
  if (env.json) {
    printJson({ dir, rules, decisions: decisions.map(({ file: _file, ...d }) => d) });
    return 0;
  }
  for (const d of decisions)
    process.stdout.write(`${d.keep ? 'keep  ' : 'delete'}  ${d.name}  ${d.reasons.join('; ')}\n`);
  const gone = decisions.filter((d) => !d.keep).length;
  env.logger.info(
    `retention would delete ${gone} of ${decisions.length} backup(s) in ${dir} (${BACKUP_TYPES.map((t) => `${t}: ${describeRules(rules[t] ?? {})}`).join('; ')}); nothing deleted`,
  );
  return 0;
}

/** Re-reads each chosen backup of every store; exit 1 when any is damaged. */
async function checkBackups(
  env: ReturnType<typeof buildEnvironment>,
  stores: BackupStore[],
  all: boolean,
): Promise<number> {
  const results: CheckResult[] = [];
  for (const store of stores) {
    const chosen = chooseForCheck(await store.list(), all);
    if (!chosen.length) env.logger.warn(`no backups to check in ${store.label}`);
    for (const backup of chosen) {
      const r = await checkStoredBackup(store, backup);
      results.push(r);
      if (env.json) continue;
      if (r.ok) env.logger.info(`ok ${store.label}/${r.name}${r.notes.length ? ` (${r.notes.join('; ')})` : ''}`);
      else env.logger.error(`DAMAGED ${store.label}/${r.name}: ${r.damage.join('; ')}`);
    }
  }
  const damaged = results.filter((r) => !r.ok);
  if (env.json) printJson({ ok: damaged.length === 0, checked: results });
  else if (damaged.length) env.logger.error(`${damaged.length} of ${results.length} backup(s) damaged`);
  else env.logger.info(`${results.length} backup(s) checked: every one matches its manifest`);
  return damaged.length ? 1 : 0;
}
