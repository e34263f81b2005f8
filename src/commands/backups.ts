import { Command } from '../cli/commander.js';
import { action } from '../cli/action.js';
import { addCommonOptions, examples, globalOptions } from '../cli/common-options.js';
import { buildEnvironment } from '../cli/environment.js';
import { printJson } from '../cli/output.js';
import { BACKUP_TYPES, listBackups } from '../jobs/backup-db/backup-files.js';
import { formatBytes, formatLocalDateTime } from '../util/time.js';

export function register(program: Command): void {
  const cmd = program
    .command('backups')
    .description('List the backups in the backup folder, newest first; exit 1 when the newest of a type is too old')
    .option('--out <dir>', 'backup folder (default: config backup.dir or ./var/backups)');
  addCommonOptions(cmd);
  examples(cmd, ['webjobs backups', 'webjobs backups --json   # for monitoring: exit 1 when stale']);
  cmd.action(
    action(async (opts: { out?: string }) => {
      const env = buildEnvironment(globalOptions(cmd));
      const dir = env.config.valueOr('backup.dir', opts.out, '--out');
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
      if (env.json) {
        printJson({ dir, maxAgeHours, ok: stale.length === 0, stale, newest, backups: rows });
      } else {
        for (const r of rows)
          process.stdout.write(
            `${r.takenAt}  ${r.type.padEnd(8)}  ${formatBytes(r.bytes).padStart(10)}  ${String(r.ageHours).padStart(7)} h  ${r.file}\n`,
          );
        if (stale.length)
          env.logger.error(`stale backups in ${dir} (older than ${maxAgeHours} h): ${stale.join(', ')}`);
        else env.logger.info(`${rows.length} backup(s) in ${dir}; newest within ${maxAgeHours} h`);
      }
      return stale.length ? 1 : 0;
    }),
  );
}
