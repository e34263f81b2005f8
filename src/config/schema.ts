/**
 * Every key of the config file: its type, default, range and one line of documentation.
 * `Config.value` reads a key through its entry here, and docs/configuration.md is generated
 * from this table (`npm run docs:config`; a test keeps the two in step), so a default or a
 * range is written down once.
 */

type KeyType =
  'int' | 'number' | 'string' | 'boolean' | 'path' | 'choice' | 'stringList' | 'numberList' | 'object' | 'list';

export interface KeySpec {
  readonly type: KeyType;
  readonly default?: unknown;
  readonly min?: number;
  readonly max?: number;
  readonly choices?: readonly string[];
  /** What the key does, for docs/configuration.md. */
  readonly doc: string;
  /** How the default is described where it is not a plain value ("the system's"). */
  readonly defaultText?: string;
  /** Heading under which docs/configuration.md lists the key. */
  readonly section: string;
}

const DAYS = 36_500;

export const CONFIG_SCHEMA = {
  timezone: {
    section: 'General',
    type: 'string',
    defaultText: "the system's",
    doc: 'IANA time zone of the app (dates in the database, file names, schedules)',
  },
  'app.name': {
    section: 'General',
    type: 'string',
    default: 'webjobs',
    doc: 'the name admins know the app by, in mail subjects and bodies',
  },
  'database.url': {
    section: 'Database',
    type: 'string',
    defaultText: '`sqlite:./var/webjobs.sqlite`',
    doc: '`sqlite:<path>` or `mysql://user:pass@host:port/db` (`--db` and `DATABASE_URL` win over it)',
  },
  'database.busyTimeoutMs': {
    section: 'Database',
    type: 'int',
    default: 5000,
    min: 0,
    doc: 'SQLite: how long a statement waits for another writer before failing',
  },
  'database.replicas': {
    section: 'Database',
    type: 'stringList',
    default: [],
    doc: 'MariaDB replica URLs whose lag pauses the purges (`--max-lag`)',
  },
  'lock.leaseSeconds': {
    section: 'Runs',
    type: 'int',
    default: 60,
    min: 1,
    max: 3600,
    doc: "lease of a job's lock; renewed every third of it while the job runs",
  },
  'retry.tries': {
    section: 'Runs',
    type: 'int',
    default: 3,
    min: 1,
    max: 20,
    doc: 'tries of a run (and of connecting) while it fails with a transient error',
  },
  'retry.backoffSeconds': {
    section: 'Runs',
    type: 'numberList',
    default: [1, 5, 10],
    min: 0,
    doc: 'waits between tries, in seconds; the last one repeats',
  },
  'history.retentionDays': {
    section: 'Runs',
    type: 'int',
    default: 90,
    min: 1,
    max: DAYS,
    doc: "days `webjobs_runs` keeps a run; pruned once a day by the first job to finish (each job's last run and last success, and running ones, are kept)",
  },
  'jobs.<job>.timeoutSeconds': {
    section: 'Runs',
    type: 'int',
    min: 1,
    max: 7 * 86_400,
    defaultText: "the job's own: 10 minutes to 1 hour",
    doc: 'the run is cancelled and fails after this many seconds',
  },
  settings: {
    section: 'Runs',
    type: 'object',
    default: {},
    doc: 'values for the `settings` table keys (`webjobs settings list`); rows in the table win over these',
  },
  'tables.<table>.name': {
    section: 'Tables',
    type: 'string',
    defaultText: 'the reference name',
    doc: "the app's name for a reference table (DESIGN.md lists them)",
  },
  'tables.<table>.columns.<column>': {
    section: 'Tables',
    type: 'string',
    defaultText: 'the reference name',
    doc: "the app's name for a reference column",
  },
  'mail.url': {
    section: 'Mail',
    type: 'string',
    defaultText: 'none: mail steps are skipped',
    doc: 'SMTP server, nodemailer URL form (`smtp://127.0.0.1:2525`); `SMTP_URL` wins over it',
  },
  'mail.from': {
    section: 'Mail',
    type: 'string',
    defaultText: "nodemailer's default",
    doc: 'sender address',
  },
  'mail.admins': {
    section: 'Mail',
    type: 'stringList',
    default: [],
    doc: 'recipients of job mail; `WEBJOBS_ADMINS` (comma-separated) wins over it',
  },
  'mail.timeoutSeconds': {
    section: 'Mail',
    type: 'int',
    default: 15,
    min: 1,
    max: 600,
    doc: 'connection, greeting and socket timeout of one delivery',
  },
  'mail.retryDelaysMs': {
    section: 'Mail',
    type: 'numberList',
    default: [1000, 4000, 15_000],
    min: 0,
    doc: 'waits before each retry of a delivery that failed with a temporary (4xx) error',
  },
  'monitor.pings': {
    section: 'Monitoring',
    type: 'object',
    default: {},
    doc: 'per job, a healthchecks-style ping URL: `{ "backup-db": "https://hc.example/ping/<uuid>" }`',
  },
  'monitor.pingTimeoutSeconds': {
    section: 'Monitoring',
    type: 'int',
    default: 10,
    min: 1,
    max: 300,
    doc: 'timeout of one ping',
  },
  'monitor.pingRetries': {
    section: 'Monitoring',
    type: 'int',
    default: 3,
    min: 0,
    max: 10,
    doc: 'retries of a ping that failed',
  },
  'monitor.pingRetryDelayMs': {
    section: 'Monitoring',
    type: 'int',
    default: 1000,
    min: 0,
    max: 60_000,
    doc: 'wait before a ping is retried',
  },
  'monitor.textfileDir': {
    section: 'Monitoring',
    type: 'path',
    defaultText: 'none: no metrics file',
    doc: "folder of node_exporter's textfile collector; `webjobs.prom` is written there after each run",
  },
  'schedule.jobs': {
    section: 'Schedule',
    type: 'object',
    default: {},
    doc: 'per job: a cron expression, `{ "cron": "...", "args": [...] }`, or `false` to drop a default entry',
  },
  'schedule.jitterSeconds': {
    section: 'Schedule',
    type: 'int',
    default: 0,
    min: 0,
    max: 3600,
    doc: "spread each job's start by a fixed per-host offset in [0, N] s",
  },
  'schedule.catchUpHours': {
    section: 'Schedule',
    type: 'int',
    default: 12,
    min: 0,
    max: 24 * 31,
    doc: '`webjobs schedule` runs, once at start, a job whose last scheduled time within this many hours has no run',
  },
  'schedule.shutdownGraceSeconds': {
    section: 'Schedule',
    type: 'int',
    default: 300,
    min: 0,
    max: 86_400,
    doc: 'how long `webjobs schedule` waits for running jobs after SIGTERM before cancelling them',
  },
  'schedule.logDir': {
    section: 'Schedule',
    type: 'path',
    default: './var/log',
    doc: 'folder of the `<job>.log` files of the crontab lines',
  },
  'purge.targetStatementMs': {
    section: 'Chunked purges',
    type: 'int',
    default: 60,
    min: 1,
    max: 600_000,
    doc: 'a chunk that takes longer than this halves the next chunk, so no statement holds locks for long',
  },
  'websites.databasePath': {
    section: 'Statistics roll-up',
    type: 'string',
    default: 'databases/website_{id}.sqlite',
    doc: "per-website SQLite files; `{id}` is the website's id; relative to the config file's folder",
  },
  'websites.statuses': {
    section: 'Statistics roll-up',
    type: 'stringList',
    default: ['verified', 'active'],
    doc: "the `websites.status` values of live sites, whose statistics are merged (the WebBloc seed's `verified`, the reference schema's `active`)",
  },
  'cleanupCache.layout': {
    section: 'Cache cleanup',
    type: 'choice',
    choices: ['reference', 'laravel'],
    default: 'reference',
    doc: "`laravel` reads Laravel's `cache(key, value, expiration)` table",
  },
  'cleanupCache.expiry': {
    section: 'Cache cleanup',
    type: 'choice',
    choices: ['datetime', 'unix-seconds'],
    defaultText: '`datetime`; `unix-seconds` with the laravel layout',
    doc: 'how the expiry column is stored',
  },
  'warm.urlTemplate': {
    section: 'Cache warming',
    type: 'string',
    defaultText: 'none: required to run',
    doc: 'the http(s) URL a widget is warmed with; `{id}` and `{platform}` are filled in',
  },
  'warm.method': {
    section: 'Cache warming',
    type: 'string',
    default: 'GET',
    doc: 'request method, `GET` or `HEAD` in any case (`--method`)',
  },
  'warm.days': {
    section: 'Cache warming',
    type: 'int',
    default: 7,
    min: 1,
    max: 3650,
    doc: 'popularity window in days (`--days`)',
  },
  'warm.concurrency': {
    section: 'Cache warming',
    type: 'int',
    default: 4,
    min: 1,
    max: 256,
    doc: 'requests in flight at once (`--concurrency`)',
  },
  'warm.rate': {
    section: 'Cache warming',
    type: 'number',
    min: 0.001,
    max: 100_000,
    defaultText: 'unlimited',
    doc: 'at most this many requests per second over all workers (`--rate`)',
  },
  'warm.delayMs': {
    section: 'Cache warming',
    type: 'int',
    default: 0,
    min: 0,
    max: 600_000,
    doc: 'pause each worker takes between two requests (`--delay`)',
  },
  'warm.timeoutSeconds': {
    section: 'Cache warming',
    type: 'number',
    default: 10,
    min: 0.01,
    max: 3600,
    doc: 'per-widget budget: the request, and any Retry-After wait and retry (`--timeout`)',
  },
  'warm.headers': {
    section: 'Cache warming',
    type: 'object',
    default: {},
    doc: 'request headers; `${NAME}` in a value is read from the environment (and masked in logs)',
  },
  'backup.dir': {
    section: 'Backups',
    type: 'path',
    default: './var/backups',
    doc: 'folder of the backup files (`--out`)',
  },
  'backup.level': {
    section: 'Backups',
    type: 'int',
    default: 9,
    min: 1,
    max: 9,
    doc: 'gzip level (`--level`)',
  },
  'backup.critical': {
    section: 'Backups',
    type: 'stringList',
    default: [
      'users',
      'movies',
      'series',
      'series_seasons',
      'series_episodes',
      'genres',
      'movie_genre',
      'series_genre',
      'movie_sources',
      'watchlists',
      'invite_codes',
      'roles',
      'permissions',
      'role_permission',
    ],
    defaultText: "seed 002's 14 tables (users, movies, series, …)",
    doc: 'the tables of a `--type critical` backup',
  },
  'backup.retentionDays': {
    section: 'Backups',
    type: 'int',
    default: 7,
    min: 0,
    max: DAYS,
    doc: 'without `backup.retention.<type>`: backups of that type older than this many days are deleted after a successful run',
  },
  'backup.retention.critical': {
    section: 'Backups',
    type: 'object',
    default: {},
    defaultText: '`keepWithinDays` = `backup.retentionDays`',
    doc: 'grandfather-father-son retention of `--type critical` backups, weighed against each other only: `{ "keepLast": N, "keepDaily": N, "keepWeekly": N, "keepMonthly": N, "keepYearly": N, "keepWithinDays": N }`, each a whole number 0–100000; a backup any rule keeps stays, the newest good one always does (docs/backup-db.md)',
  },
  'backup.retention.full': {
    section: 'Backups',
    type: 'object',
    default: {},
    defaultText: '`keepWithinDays` = `backup.retentionDays`',
    doc: 'the same rules for `--type full` backups (a critical run never deletes a full backup)',
  },
  'backup.freeSpaceMarginBytes': {
    section: 'Backups',
    type: 'int',
    default: 64 * 1024 * 1024,
    min: 0,
    doc: 'free space the backup folder must keep beyond the estimated backup (the newest of its type +25 %, else half the tables’ data length); short of it the run fails before writing',
  },
  'backup.shrinkWarnPercent': {
    section: 'Backups',
    type: 'int',
    default: 50,
    min: 1,
    max: 100,
    doc: '`webjobs backups` warns when the newest backup of a type is more than this percent smaller than the previous one',
  },
  'backup.maxStatementBytes': {
    section: 'Backups',
    type: 'int',
    default: 1024 * 1024,
    min: 1024,
    max: 256 * 1024 * 1024,
    doc: 'longest INSERT statement the dump writes (keep under the server’s max_allowed_packet)',
  },
  'backup.maxAgeHours': {
    section: 'Backups',
    type: 'int',
    default: 26,
    min: 1,
    max: 100_000,
    doc: '`webjobs backups` warns when the newest backup is older than this',
  },
  'backup.encrypt.recipients': {
    section: 'Backups',
    type: 'stringList',
    doc: 'age public keys (`age1…`): when set, backups are written encrypted as `.sql.gz.age`; an unusable key is exit 2',
  },
  'backup.encrypt.identityFile': {
    section: 'Backups',
    type: 'path',
    doc: 'age identity (secret key) file for `restore-db` and `--verify` of encrypted backups (`--identity`)',
  },
  'backup.remotes': {
    section: 'Backups',
    type: 'stringList',
    default: [],
    doc: 'off-site copies: `s3://bucket/prefix` or `sftp://user@host:port/path` URLs, each upload read back (SHA-256)',
  },
  'backup.s3.endpoint': {
    section: 'Backups',
    type: 'string',
    defaultText: "AWS's",
    doc: 'S3-compatible endpoint URL (B2, Wasabi, MinIO…)',
  },
  'backup.s3.region': {
    section: 'Backups',
    type: 'string',
    defaultText: '`AWS_REGION`',
    doc: 'S3 region of the bucket',
  },
  'backup.s3.accessKeyId': {
    section: 'Backups',
    type: 'string',
    defaultText: '`AWS_ACCESS_KEY_ID`',
    doc: 'S3 access key id (else the usual AWS environment variables and profiles)',
  },
  'backup.s3.secretAccessKey': {
    section: 'Backups',
    type: 'string',
    defaultText: '`AWS_SECRET_ACCESS_KEY`',
    doc: 'S3 secret key (masked in logs, JSON, history and mail)',
  },
  'backup.s3.forcePathStyle': {
    section: 'Backups',
    type: 'boolean',
    defaultText: "the SDK's",
    doc: 'path-style S3 URLs (`endpoint/bucket/key`), which most S3-compatible servers need',
  },
  'backup.sftp.keyFile': {
    section: 'Backups',
    type: 'path',
    doc: 'private key file for `sftp://` remotes (required with them)',
  },
  'backup.sftp.knownHostsFile': {
    section: 'Backups',
    type: 'path',
    defaultText: '`~/.ssh/known_hosts`',
    doc: "known hosts file the SFTP server's host key must be in",
  },
  'backup.sftp.passphrase': {
    section: 'Backups',
    type: 'string',
    doc: "the SFTP key file's passphrase, when it has one (masked in logs)",
  },
  'backup.remoteRetry.tries': {
    section: 'Backups',
    type: 'int',
    default: 3,
    min: 1,
    max: 20,
    doc: 'tries of an upload to a remote while it fails with a transient error',
  },
  'backup.remoteRetry.backoffSeconds': {
    section: 'Backups',
    type: 'numberList',
    default: [5, 30],
    min: 0,
    doc: 'waits between tries of an upload, in seconds; the last one repeats',
  },
  'report.dir': {
    section: 'Activity report',
    type: 'path',
    default: './var/reports',
    doc: 'reports are written to its `user_activity` folder',
  },
  'report.retentionDays': {
    section: 'Activity report',
    type: 'int',
    default: 30,
    min: 0,
    max: DAYS,
    doc: 'report files older than this many days are deleted',
  },
  'report.suspiciousIpThreshold': {
    section: 'Activity report',
    type: 'int',
    default: 5,
    min: 1,
    max: 1_000_000,
    doc: 'failed logins from one IP in the period that make it suspicious',
  },
  'report.suspiciousIpLimit': {
    section: 'Activity report',
    type: 'int',
    default: 1000,
    min: 1,
    max: 100_000,
    doc: 'most suspicious IPs listed',
  },
  'dashboard.token': {
    section: 'Dashboard',
    type: 'string',
    doc: '`dashboard --serve`: every request must carry it (at least 8 characters; `--token` wins over it); required with a `--host` other than loopback',
  },
  'cleanup.inactiveDays': {
    section: 'Token cleanup',
    type: 'int',
    default: 90,
    min: 1,
    max: DAYS,
    doc: 'active API keys unused this many days become inactive (`--inactive-days`)',
  },
  'cleanup.statisticsRetentionDays': {
    section: 'Token cleanup',
    type: 'int',
    default: 365,
    min: 1,
    max: DAYS,
    doc: 'website_statistics rows kept this many days, summarized monthly first (`--statistics-retention-days`; the top-level `statisticsRetentionDays` is read too)',
  },
  'cleanup.tempFileHours': {
    section: 'Token cleanup',
    type: 'int',
    default: 24,
    min: 1,
    max: DAYS * 24,
    doc: 'temporary files older than this many hours are removed (`--temp-hours`)',
  },
  'cleanup.sessionIdleDays': {
    section: 'Token cleanup',
    type: 'int',
    default: 30,
    min: 1,
    max: DAYS,
    doc: 'sessions idle this many days are deleted (`--session-days`)',
  },
  'cleanup.chunkSize': {
    section: 'Token cleanup',
    type: 'int',
    default: 1000,
    min: 1,
    max: 1_000_000,
    doc: 'rows per delete transaction (`--chunk-size`)',
  },
  'cleanup.tempDirs': {
    section: 'Token cleanup',
    type: 'stringList',
    default: ['storage/app/temp', 'storage/app/exports', 'storage/logs/old'],
    doc: "folders whose old files are removed, relative to the config file's folder (links are not followed)",
  },
  'cleanup.statisticsJsonPaths': {
    section: 'Token cleanup',
    type: 'object',
    default: {},
    doc: 'where the monthly summary finds its figures in `statistics_data` (`{ "total_users": "$.users.total" }`)',
  },
  'retention.rules': {
    section: 'Token cleanup',
    type: 'list',
    default: [],
    doc: 'more tables to prune: `[{ "table": "...", "column": "...", "days": N }]` (docs/cleanup-tokens.md)',
  },
} as const satisfies Record<string, KeySpec>;

export type ConfigKey = keyof typeof CONFIG_SCHEMA;
/** Keys read through `Config.value`; the `<placeholder>` ones are read by their own code. */
export type PlainConfigKey = Exclude<ConfigKey, `${string}<${string}`>;

type Spec<K extends ConfigKey> = (typeof CONFIG_SCHEMA)[K];
type BaseValue<S> = S extends { type: 'int' | 'number' }
  ? number
  : S extends { type: 'choice'; choices: readonly (infer C)[] }
    ? C
    : S extends { type: 'string' | 'path' }
      ? string
      : S extends { type: 'boolean' }
        ? boolean
        : S extends { type: 'stringList' }
          ? string[]
          : S extends { type: 'numberList' }
            ? number[]
            : S extends { type: 'object' }
              ? Record<string, unknown>
              : unknown[];

/** The type `Config.value(key)` returns: with a default, never undefined. */
export type ConfigValue<K extends ConfigKey> =
  Spec<K> extends { default: unknown } ? BaseValue<Spec<K>> : BaseValue<Spec<K>> | undefined;

export function specOf(key: ConfigKey): KeySpec {
  return CONFIG_SCHEMA[key];
}
