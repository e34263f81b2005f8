import path from 'node:path';
import { checkNumber, type Config } from '../../config/config.js';
import type { Settings } from '../../config/settings.js';
import { isSimpleJsonPath } from '../../db/json.js';
import { UsageError } from '../../util/errors.js';
import { parseRetentionRules, type RetentionRule } from './retention-rules.js';

/** Options from the command line; each overrides its config key. */
export interface CleanupTokensOptions {
  inactiveDays?: number;
  statisticsRetentionDays?: number;
  tempHours?: number;
  sessionDays?: number;
  chunkSize?: number;
}

/** Where the summary's figures live in statistics_data: the seed's flat members by default. */
export const DEFAULT_STATISTICS_PATHS = {
  api_calls_today: '$.api_calls_today',
  average_response_time: '$.average_response_time',
  page_views_today: '$.page_views_today',
  total_users: '$.total_users',
};
export type StatisticsPaths = typeof DEFAULT_STATISTICS_PATHS;

/** Everything the run needs, checked: a negative or non-numeric threshold is a UsageError (exit 2). */
export interface Resolved {
  inactiveDays: number;
  statisticsRetentionDays: number;
  tempHours: number;
  sessionDays: number;
  chunkSize: number;
  tempDirs: string[];
  rules: RetentionRule[];
  statisticsPaths: StatisticsPaths;
}

function statisticsPaths(config: Config): StatisticsPaths {
  const raw = config.value('cleanup.statisticsJsonPaths');
  const out = { ...DEFAULT_STATISTICS_PATHS };
  for (const [key, value] of Object.entries(raw)) {
    if (!(key in out))
      throw new UsageError(
        `config cleanup.statisticsJsonPaths.${key} is not a known figure (${Object.keys(out).join(', ')})`,
      );
    if (!isSimpleJsonPath(value))
      throw new UsageError(
        `config cleanup.statisticsJsonPaths.${key} must be a JSON path like "$.member" or "$.group.member", got ${JSON.stringify(value)}`,
      );
    out[key as keyof StatisticsPaths] = value;
  }
  return out;
}

/** The top-level key an older config used for the statistics retention. */
const LEGACY_STATISTICS_RETENTION = 'statisticsRetentionDays';

function statisticsRetentionDays(config: Config, flag: number | undefined): number {
  if (flag === undefined && config.get('cleanup.statisticsRetentionDays') === undefined) {
    const legacy = config.get(LEGACY_STATISTICS_RETENTION);
    if (legacy !== undefined && legacy !== null)
      return checkNumber(legacy, `config ${LEGACY_STATISTICS_RETENTION}`, { min: 1, max: 36500 });
  }
  return config.valueOr('cleanup.statisticsRetentionDays', flag, '--statistics-retention-days');
}

/** Flags > config `cleanup.*` > defaults, each threshold checked; the retention rules and JSON paths from config. */
export function resolve(config: Config, _settings: Settings, options: CleanupTokensOptions): Resolved {
  const tempDirs = config.value('cleanup.tempDirs');
  for (const d of tempDirs) {
    if (d.trim() === '') throw new UsageError('config cleanup.tempDirs must not hold an empty path');
    // Old files directly inside are removed: a filesystem root is never a temp folder.
    const resolved = path.resolve(config.baseDir, d);
    if (resolved === path.parse(resolved).root)
      throw new UsageError(`config cleanup.tempDirs must not name the filesystem root (${JSON.stringify(d)})`);
  }
  return {
    inactiveDays: config.valueOr('cleanup.inactiveDays', options.inactiveDays, '--inactive-days'),
    statisticsRetentionDays: statisticsRetentionDays(config, options.statisticsRetentionDays),
    tempHours: config.valueOr('cleanup.tempFileHours', options.tempHours, '--temp-hours'),
    sessionDays: config.valueOr('cleanup.sessionIdleDays', options.sessionDays, '--session-days'),
    chunkSize: config.valueOr('cleanup.chunkSize', options.chunkSize, '--chunk-size'),
    tempDirs,
    rules: parseRetentionRules(config.get('retention.rules')),
    statisticsPaths: statisticsPaths(config),
  };
}
