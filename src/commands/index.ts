import type { Command } from 'commander';
import { register as aggregateStats } from './aggregate-stats.js';
import { register as backupDb } from './backup-db.js';
import { register as backups } from './backups.js';
import { register as circuit } from './circuit.js';
import { register as cleanupCache } from './cleanup-cache.js';
import { register as cleanupTokens } from './cleanup-tokens.js';
import { register as cron } from './cron.js';
import { register as demo } from './demo.js';
import { register as doctor } from './doctor.js';
import { register as exportReport } from './export-report.js';
import { register as history } from './history.js';
import { register as init } from './init.js';
import { register as pause } from './pause.js';
import { register as restoreDb } from './restore-db.js';
import { register as schedule } from './schedule.js';
import { register as settings } from './settings.js';
import { register as status } from './status.js';
import { register as unlock } from './unlock.js';
import { register as warmCache } from './warm-cache.js';

/** Every subcommand, in the order `--help` lists them: the jobs first, then the tools that operate them. */
export const COMMANDS: Array<(program: Command) => void> = [aggregateStats, cleanupCache, warmCache, backupDb, exportReport, cleanupTokens, restoreDb, backups, status, history, schedule, cron, pause, unlock, circuit, settings, doctor, init, demo];

export function registerCommands(program: Command): void {
  for (const register of COMMANDS) register(program);
}
