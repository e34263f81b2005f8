import type { Command } from 'commander';

/** A subcommand: its name, and the module that registers it (loaded only when needed). */
export interface CommandEntry {
  name: string;
  load: () => Promise<{ register: (program: Command) => void }>;
}

/**
 * The commands that operate the jobs, in the order `--help` lists them (after the jobs, whose
 * commands the CLI generates from src/jobs/registry.ts).
 */
export const COMMANDS: CommandEntry[] = [
  { name: 'restore-db', load: () => import('./restore-db.js') },
  { name: 'backups', load: () => import('./backups.js') },
  { name: 'status', load: () => import('./status.js') },
  { name: 'history', load: () => import('./history.js') },
  { name: 'schedule', load: () => import('./schedule.js') },
  { name: 'cron', load: () => import('./cron.js') },
  { name: 'pause', load: () => import('./pause.js') },
  { name: 'unlock', load: () => import('./unlock.js') },
  { name: 'circuit', load: () => import('./circuit.js') },
  { name: 'settings', load: () => import('./settings.js') },
  { name: 'doctor', load: () => import('./doctor.js') },
  { name: 'init', load: () => import('./init.js') },
  { name: 'demo', load: () => import('./demo.js') },
];

/** Registers the operating command `named`, or all of them when none is named. */
export async function registerCommands(program: Command, named?: string): Promise<void> {
  const only = COMMANDS.find((c) => c.name === named);
  const modules = await Promise.all((only ? [only] : COMMANDS).map((c) => c.load()));
  for (const m of modules) m.register(program);
}
