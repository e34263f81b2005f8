import type { Command } from 'commander';
import { register as aggregateStats } from './aggregate-stats.js';
import { register as backupDb } from './backup-db.js';
import { register as backups } from './backups.js';
import { register as circuit } from './circuit.js';
import { register as cleanupCache } from './cleanup-cache.js';
import { register as cleanupTokens } from './cleanup-tokens.js';
import { register as demo } from './demo.js';
import { register as exportReport } from './export-report.js';
import { register as init } from './init.js';
import { register as restoreDb } from './restore-db.js';
import { register as settings } from './settings.js';
import { register as warmCache } from './warm-cache.js';

/** Every subcommand, in the order `--help` lists them: the jobs first, then the tools that operate them. */
const COMMANDS: Array<(program: Command) => void> = [aggregateStats, cleanupCache, warmCache, backupDb, exportReport, cleanupTokens, restoreDb, backups, circuit, settings, init, demo];

export function registerCommands(program: Command): void {
  for (const register of COMMANDS) register(program);
}
