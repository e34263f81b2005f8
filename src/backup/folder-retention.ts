import fs from 'node:fs';
import { checkNumber, type Config } from '../config/config.js';
import { UsageError } from '../util/errors.js';
import { listBackups, type BackupFile } from '../jobs/backup-db/backup-files.js';
import {
  planRetention,
  RULE_NAMES,
  type RetentionCandidate,
  type RetentionDecision,
  type RetentionRules,
} from './retention.js';

/**
 * Retention applied to a local backup folder: config `backup.retention.{critical,full}` (GFS
 * rules), else the old `backup.retentionDays` as keepWithinDays. Only webjobs' own backup names
 * are ever listed, so nothing else in the folder is touched.
 */

/** The rules for one backup type, checked (exit 2 on a bad value). */
export function retentionRules(config: Config, type: string): RetentionRules {
  const key = `backup.retention.${type}`;
  const section = configuredRules(config, type);
  for (const name of Object.keys(section))
    if (!(RULE_NAMES as readonly string[]).includes(name))
      throw new UsageError(`config ${key}.${name} is not a retention rule (${RULE_NAMES.join(', ')})`);
  if (!Object.keys(section).length) return { keepWithinDays: config.value('backup.retentionDays') };
  const rules: RetentionRules = {};
  for (const name of RULE_NAMES)
    if (section[name] !== undefined && section[name] !== null)
      rules[name] = checkNumber(section[name], `config ${key}.${name}`, { min: 0, max: 100000, integer: true });
  return rules;
}

function configuredRules(config: Config, type: string): Record<string, unknown> {
  if (type === 'critical') return config.value('backup.retention.critical');
  if (type === 'full') return config.value('backup.retention.full');
  throw new Error(`no retention rules for backup type ${type}`);
}

/** The file that sits beside a backup and goes with it. */
export const manifestPathOf = (backupFile: string) => `${backupFile}.manifest.json`;

export interface FolderRetention {
  decisions: (RetentionDecision & { file: string | null })[];
  deleted: string[];
}

/**
 * Plans (and unless `dryRun`, applies) retention to the backups of `types` in `dir`. `pending`
 * is a backup not yet on disk (a dry run's would-be file): weighed as the newest, never deleted.
 */
export function folderRetention(
  dir: string,
  types: readonly string[],
  config: Config,
  now: string,
  options: { dryRun: boolean; pending?: { name: string; type: string; time: string } },
): FolderRetention {
  const files = new Map<string, BackupFile>();
  for (const b of listBackups(dir)) if (types.includes(b.type)) files.set(b.name, b);
  const candidates: RetentionCandidate[] = [...files.values()].map((b) => ({
    name: b.name,
    type: b.type,
    time: b.takenAt,
  }));
  if (options.pending) candidates.push(options.pending);
  const decisions = planRetention(candidates, (type) => retentionRules(config, type), now).map((d) => ({
    ...d,
    file: files.get(d.name)?.file ?? null,
  }));
  const deleted: string[] = [];
  for (const d of decisions) {
    if (d.keep || d.file === null) continue;
    if (!options.dryRun) {
      fs.unlinkSync(d.file);
      fs.rmSync(manifestPathOf(d.file), { force: true });
    }
    deleted.push(d.name);
  }
  return { decisions, deleted };
}
