import { Command } from '../cli/commander.js';
import { action } from '../cli/action.js';
import { addCommonOptions, examples, globalOptions } from '../cli/common-options.js';
import { buildEnvironment } from '../cli/environment.js';
import { printJson } from '../cli/output.js';
import { BACKUP_TYPES, listBackups, parseBackupName } from '../jobs/backup-db/backup-files.js';
import {
  listRemotes,
  openRemote,
  remoteSecretsFromEnv,
  remotesFromConfig,
  type BackupRemote,
  type RemoteRetention,
  type RemoteTarget,
} from '../backup/remotes/index.js';
import { remoteRetention } from '../backup/remotes/retention.js';
import { RemoteBackupStore } from '../backup/remotes/store.js';
import { identitiesFrom } from '../backup/encryption-config.js';
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
import { errorMessage, UsageError } from '../util/errors.js';

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
    .option('--out <dir>', 'backup folder (default: config backup.dir or ./var/backups)')
    .option(
      '--dry-run-retention',
      'show which backups retention would delete, and why, locally and on each remote (deletes nothing)',
    )
    .option(
      '--check',
      're-read stored backups, local and remote, and compare each with its manifest (exit 1 naming any damaged file)',
    )
    .option('--all', 'with --check: every backup')
    .option('--latest', 'with --check: the newest of each type (the default)')
    .option(
      '--identity <file>',
      'with --check: age identity file, to decrypt encrypted backups too (default: config backup.encrypt.identityFile)',
    );
  addCommonOptions(cmd);
  examples(cmd, [
    'webjobs backups',
    'webjobs backups --json   # for monitoring: exit 1 when stale',
    'webjobs backups --dry-run-retention',
    'webjobs backups --check --all',
  ]);
  cmd.action(
    action(
      async (opts: {
        out?: string;
        dryRunRetention?: boolean;
        check?: boolean;
        all?: boolean;
        latest?: boolean;
        identity?: string;
      }) => {
        const env = buildEnvironment(globalOptions(cmd));
        const dir = env.config.valueOr('backup.dir', opts.out, '--out');
        if ((opts.all || opts.latest) && !opts.check) throw new UsageError('--all and --latest go with --check');
        if (opts.identity && !opts.check) throw new UsageError('--identity goes with --check');
        if (opts.all && opts.latest) throw new UsageError('--all and --latest exclude each other');
        const targets = remotesFromConfig(env.config);
        for (const secret of targets.length ? remoteSecretsFromEnv() : []) env.logger.addSecret(secret);
        if (opts.dryRunRetention) return showRetention(env, dir, targets);
        if (opts.check) {
          const identities = identitiesFrom(env.config, opts.identity);
          return checkBackups(env, dir, targets, Boolean(opts.all), identities);
        }
        return listAll(env, dir, targets);
      },
    ),
  );
}

type Environment = ReturnType<typeof buildEnvironment>;

/**
 * Every backup of the folder and of each remote with keep or delete and the reasons, as the
 * next run of its type would decide; nothing deleted.
 */
async function showRetention(env: Environment, dir: string, targets: RemoteTarget[]): Promise<number> {
  const now = formatLocalDateTime(env.clock.now(), env.config.timezone);
  const { decisions } = folderRetention(dir, BACKUP_TYPES, env.config, now, { dryRun: true });
  const rules = Object.fromEntries(BACKUP_TYPES.map((t) => [t, retentionRules(env.config, t)]));
  const remote = new Map<string, { decisions: RemoteRetention['decisions']; error?: string }>();
  for (const type of BACKUP_TYPES)
    for (const r of await remoteRetention(targets, env.config, { type, rules: rules[type] ?? {}, now, dryRun: true })) {
      const entry = remote.get(r.remote) ?? { decisions: [] };
      entry.decisions.push(...r.decisions);
      if (r.error) entry.error = env.logger.mask(r.error);
      remote.set(r.remote, entry);
    }
  if (env.json) {
    printJson({
      dir,
      rules,
      decisions: decisions.map(({ file: _file, ...d }) => d),
      ...(targets.length ? { remotes: [...remote].map(([url, r]) => ({ remote: url, ...r })) } : {}),
    });
    return [...remote.values()].some((r) => r.error) ? 1 : 0;
  }
  for (const d of decisions)
    process.stdout.write(`${d.keep ? 'keep  ' : 'delete'}  ${d.name}  ${d.reasons.join('; ')}\n`);
  for (const [url, r] of remote) {
    for (const d of r.decisions)
      process.stdout.write(`${d.keep ? 'keep  ' : 'delete'}  ${url}/${d.name}  ${d.reasons.join('; ')}\n`);
    if (r.error) env.logger.error(`cannot list ${url}: ${r.error}`);
  }
  const gone = decisions.filter((d) => !d.keep).length;
  env.logger.info(
    `retention would delete ${gone} of ${decisions.length} backup(s) in ${dir} (${BACKUP_TYPES.map((t) => `${t}: ${describeRules(rules[t] ?? {})}`).join('; ')}); nothing deleted`,
  );
  return [...remote.values()].some((r) => r.error) ? 1 : 0;
}

/** Re-reads each chosen backup of the folder and of every remote; exit 1 when any is damaged or a remote is unreachable. */
async function checkBackups(
  env: Environment,
  dir: string,
  targets: RemoteTarget[],
  all: boolean,
  identities: string[] | undefined,
): Promise<number> {
  const results: CheckResult[] = [];
  const unreachable: string[] = [];
  await checkStore(env, new LocalBackupStore(dir), all, identities, results);
  for (const target of targets) {
    let remote: BackupRemote;
    try {
      remote = await openRemote(target, env.config);
    } catch (err) {
      if (err instanceof UsageError) throw err;
      unreachable.push(target.url);
      env.logger.error(`cannot check ${target.url}: ${env.logger.mask(errorMessage(err))}`);
      continue;
    }
    try {
      await checkStore(env, new RemoteBackupStore(remote), all, identities, results);
    } finally {
      await remote.close().catch(() => undefined);
    }
  }
  const damaged = results.filter((r) => !r.ok);
  if (env.json) printJson({ ok: damaged.length === 0 && !unreachable.length, checked: results, unreachable });
  else if (damaged.length) env.logger.error(`${damaged.length} of ${results.length} backup(s) damaged`);
  else env.logger.info(`${results.length} backup(s) checked: every one matches its manifest`);
  return damaged.length || unreachable.length ? 1 : 0;
}

async function checkStore(
  env: Environment,
  store: BackupStore,
  all: boolean,
  identities: string[] | undefined,
  results: CheckResult[],
): Promise<void> {
  let listed;
  try {
    listed = await store.list();
  } catch (err) {
    // Listed as damaged, so the exit code and the JSON name the store that could not be read.
    results.push({
      store: store.label,
      name: '',
      type: '',
      ok: false,
      damage: [`cannot be listed: ${env.logger.mask(errorMessage(err))}`],
      notes: [],
      bytes: 0,
      sha256: '',
    });
    if (!env.json) env.logger.error(`DAMAGED ${store.label}: cannot be listed (${errorMessage(err)})`);
    return;
  }
  const chosen = chooseForCheck(listed, all);
  if (!chosen.length) env.logger.warn(`no backups to check in ${store.label}`);
  for (const backup of chosen) {
    const r = await checkStoredBackup(store, backup, { identities });
    results.push(r);
    if (env.json) continue;
    if (r.ok) env.logger.info(`ok ${store.label}/${r.name}${r.notes.length ? ` (${r.notes.join('; ')})` : ''}`);
    else env.logger.error(`DAMAGED ${store.label}/${r.name}: ${r.damage.join('; ')}`);
  }
}

/** Local and remote copies side by side; exit 1 when stale or when a remote cannot be listed. */
async function listAll(env: Environment, dir: string, targets: RemoteTarget[]): Promise<number> {
  const shrinkPercent = env.config.value('backup.shrinkWarnPercent');
  const maxAgeHours = env.config.value('backup.maxAgeHours');
  const now = env.clock.now();
  const nowStamp = formatLocalDateTime(now, env.config.timezone);
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
  const warnings = rows.length ? backupWarnings(list, BACKUP_TYPES, shrinkPercent) : [];
  const unreachable = remoteListings.filter((l) => l.error);
  if (env.json) {
    printJson({
      dir,
      maxAgeHours,
      ok: stale.length === 0 && unreachable.length === 0,
      stale,
      warnings,
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
    for (const w of warnings) env.logger.warn(w);
    for (const r of rows)
      process.stdout.write(
        `${r.takenAt}  ${r.type.padEnd(8)}  ${formatBytes(r.bytes).padStart(10)}  ${String(r.ageHours).padStart(7)} h  ${r.file ?? `(not local) ${r.name}`}${r.remotes ? `  copies: ${copiesOf(r)}` : ''}\n`,
      );
    for (const l of unreachable) env.logger.error(`cannot list ${l.remote}: ${l.error}`);
    if (stale.length) env.logger.error(`stale backups in ${dir} (older than ${maxAgeHours} h): ${stale.join(', ')}`);
    else env.logger.info(`${rows.length} backup(s) in ${dir}; newest within ${maxAgeHours} h`);
  }
  return stale.length || unreachable.length ? 1 : 0;
}
