import type { Command } from 'commander';
import { register as backupDb } from './backup-db.js';
import { register as backups } from './backups.js';
import { register as demo } from './demo.js';
import { register as init } from './init.js';
import { register as restoreDb } from './restore-db.js';
import { register as cron } from './cron.js';
import { register as doctor } from './doctor.js';
import { register as history } from './history.js';
import { register as pause } from './pause.js';
import { register as schedule } from './schedule.js';
import { register as status } from './status.js';
import { register as unlock } from './unlock.js';

/** Every subcommand, in the order `--help` lists them: the jobs first, then the tools that operate them. */
export const COMMANDS: Array<(program: Command) => void> = [backupDb, restoreDb, backups, status, history, schedule, cron, pause, unlock, doctor, init, demo];

export function registerCommands(program: Command): void {
  for (const register of COMMANDS) register(program);
}
