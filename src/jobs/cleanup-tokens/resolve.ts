import path from 'node:path';
import { checkNumber, type Config } from '../../config/config.js';
import type { Settings } from '../../config/settings.js';
import { isSimpleJsonPath } from '../../db/json.js';
import { UsageError } from '../../util/errors.js';
import { intInRange } from '../option-ranges.js';
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

export const DEFAULT_TEMP_DIRS = ['storage/app/temp', 'storage/app/exports', 'storage/logs/old'];

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
  const raw = config.section('cleanup.statisticsJsonPaths');
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

const MAX_DAYS = 36500;

function threshold(
  config: Config,
  flag: number | undefined,
  flagName: string,
  keys: string[],
  fallback: number,
  range: { min: number; max: number },
): number {
  if (flag !== undefined) return intInRange(checkNumber(flag, flagName), flagName, range.min, range.max) as number;
  for (const key of keys) {
    if (config.get(key) !== undefined && config.get(key) !== null) return config.number(key, fallback, range);
  }
  return fallback;
}

/** Flags > config `cleanup.*` > defaults, each threshold checked; the retention rules and JSON paths from config. */
export function resolve(config: Config, _settings: Settings, options: CleanupTokensOptions): Resolved {
  const tempDirs = config.stringList('cleanup.tempDirs', DEFAULT_TEMP_DIRS);
  for (const d of tempDirs) {
    if (d.trim() === '') throw new UsageError('config cleanup.tempDirs must not hold an empty path');
    // Old files directly inside are removed: a filesystem root is never a temp folder.
    const resolved = path.resolve(config.baseDir, d);
    if (resolved === path.parse(resolved).root)
      throw new UsageError(`config cleanup.tempDirs must not name the filesystem root (${JSON.stringify(d)})`);
  }
  return {
    inactiveDays: threshold(config, options.inactiveDays, '--inactive-days', ['cleanup.inactiveDays'], 90, {
      min: 1,
      max: MAX_DAYS,
    }),
    statisticsRetentionDays: threshold(
      config,
      options.statisticsRetentionDays,
      '--statistics-retention-days',
      ['cleanup.statisticsRetentionDays', 'statisticsRetentionDays'],
      365,
      { min: 1, max: MAX_DAYS },
    ),
    tempHours: threshold(config, options.tempHours, '--temp-hours', ['cleanup.tempFileHours'], 24, {
      min: 1,
      max: MAX_DAYS * 24,
    }),
    sessionDays: threshold(config, options.sessionDays, '--session-days', ['cleanup.sessionIdleDays'], 30, {
      min: 1,
      max: MAX_DAYS,
    }),
    chunkSize: threshold(config, options.chunkSize, '--chunk-size', ['cleanup.chunkSize'], 1000, {
      min: 1,
      max: 1_000_000,
    }),
    tempDirs,
    rules: parseRetentionRules(config.get('retention.rules')),
    statisticsPaths: statisticsPaths(config),
  };
}
