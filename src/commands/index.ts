import type { Command } from 'commander';
import { register as backupDb } from './backup-db.js';
import { register as backups } from './backups.js';
import { register as demo } from './demo.js';
import { register as exportReport } from './export-report.js';
import { register as init } from './init.js';
import { register as restoreDb } from './restore-db.js';

/** Every subcommand, in the order `--help` lists them: the jobs first, then the tools that operate them. */
const COMMANDS: Array<(program: Command) => void> = [backupDb, exportReport, restoreDb, backups, init, demo];

export function registerCommands(program: Command): void {
  for (const register of COMMANDS) register(program);
}
