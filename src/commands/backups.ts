import { Command } from '../cli/commander.js';
import { action } from '../cli/action.js';
import { addCommonOptions, examples, globalOptions } from '../cli/common-options.js';
import { buildEnvironment } from '../cli/environment.js';
import { printJson } from '../cli/output.js';
import { BACKUP_TYPES, listBackups, parseBackupName } from '../jobs/backup-db/backup-files.js';
import { listRemotes, remoteSecretsFromEnv, remotesFromConfig } from '../backup/remotes/index.js';
import { formatBytes, formatLocalDateTime } from '../util/time.js';

interface BackupRow {
  type: string;
  /** The local file; null for a backup found only on remotes. */
  file: string | null;
  takenAt: string;
  bytes: number;
  ageHours: number;
  /** With remotes configured: the file name, and the size of its copy on each remote holding one. */
  name?: string;
  remotes?: Record<string, number>;
}

function copiesOf(r: BackupRow): string {
  return [...(r.file ? ['local'] : []), ...Object.keys(r.remotes ?? {})].join(', ');
}

export function register(program: Command): void {
  const cmd = program
    .command('backups')
    .description(
      'List the backups in the backup folder and on the remotes, newest first; exit 1 when the newest of a type is too old or a remote cannot be listed',
    )
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
      const targets = remotesFromConfig(env.config);
      for (const secret of targets.length ? remoteSecretsFromEnv() : []) env.logger.addSecret(secret);
      const remoteListings = await listRemotes(targets, env.config);
      const list = listBackups(dir);
      // Ages from the names' local times, compared in the same zone: no DST guessing from file times.
      const ageHours = (takenAt: string) =>
        (Date.parse(nowStamp.replace(' ', 'T') + 'Z') - Date.parse(takenAt.replace(' ', 'T') + 'Z')) / 3_600_000;
      const rows: BackupRow[] = list.map((b) => ({
        type: b.type,
        file: b.file as string | null,
        takenAt: b.takenAt,
        bytes: b.bytes,
        ageHours: Math.round(ageHours(b.takenAt) * 10) / 10,
        ...(targets.length ? { name: b.name, remotes: {} as Record<string, number> } : {}),
      }));
      // Side by side: each remote copy joins the local row of the same name, or makes a row of its own.
      for (const listing of remoteListings) {
        for (const f of listing.files) {
          let row = rows.find((r) => r.name === f.name);
          const parsed = parseBackupName(f.name);
          if (!row && parsed) {
            row = {
              type: parsed.type,
              file: null,
              takenAt: parsed.takenAt,
              bytes: f.bytes,
              ageHours: Math.round(ageHours(parsed.takenAt) * 10) / 10,
              name: f.name,
              remotes: {},
            };
            rows.push(row);
          }
          if (row?.remotes) row.remotes[listing.remote] = f.bytes;
        }
      }
      rows.sort((a, b) =>
        a.takenAt === b.takenAt ? (b.name ?? '').localeCompare(a.name ?? '') : b.takenAt.localeCompare(a.takenAt),
      );
      const stale: string[] = [];
      const newest: Record<string, string | null> = {};
      for (const t of BACKUP_TYPES) {
        const first = rows.find((r) => r.type === t);
        newest[t] = first?.takenAt ?? null;
        if (first && first.ageHours > maxAgeHours) stale.push(`${t} (newest ${first.ageHours} h old)`);
      }
      if (!rows.length) stale.push('no backups at all');
      const unreachable = remoteListings.filter((l) => l.error);
      if (env.json) {
        printJson({
          dir,
          maxAgeHours,
          ok: stale.length === 0 && unreachable.length === 0,
          stale,
          newest,
          backups: rows,
          ...(targets.length
            ? {
                remotes: remoteListings.map((l) => ({
                  remote: l.remote,
                  count: l.files.length,
                  ...(l.error ? { error: env.logger.mask(l.error) } : {}),
                })),
              }
            : {}),
        });
      } else {
        for (const r of rows)
          process.stdout.write(
            `${r.takenAt}  ${r.type.padEnd(8)}  ${formatBytes(r.bytes).padStart(10)}  ${String(r.ageHours).padStart(7)} h  ${r.file ?? `(not local) ${r.name}`}${r.remotes ? `  copies: ${copiesOf(r)}` : ''}\n`,
          );
        for (const l of unreachable) env.logger.error(`cannot list ${l.remote}: ${l.error}`);
        if (stale.length)
          env.logger.error(`stale backups in ${dir} (older than ${maxAgeHours} h): ${stale.join(', ')}`);
        else env.logger.info(`${rows.length} backup(s) in ${dir}; newest within ${maxAgeHours} h`);
      }
      return stale.length || unreachable.length ? 1 : 0;
    }),
  );
}
