import type { Command } from 'commander';

/** A subcommand: its name, and the module that registers it (loaded only when needed). */
export interface CommandEntry {
  name: string;
  load: () => Promise<{ register: (program: Command) => void }>;
}

/** Every subcommand, in the order `--help` lists them: the jobs first, then the tools that operate them. */
export const COMMANDS: CommandEntry[] = [
  { name: 'aggregate-stats', load: () => import('./aggregate-stats.js') },
  { name: 'cleanup-cache', load: () => import('./cleanup-cache.js') },
  { name: 'warm-cache', load: () => import('./warm-cache.js') },
  { name: 'backup-db', load: () => import('./backup-db.js') },
  { name: 'export-report', load: () => import('./export-report.js') },
  { name: 'cleanup-tokens', load: () => import('./cleanup-tokens.js') },
  { name: 'restore-db', load: () => import('./restore-db.js') },
  { name: 'backups', load: () => import('./backups.js') },
  { name: 'status', load: () => import('./status.js') },
  { name: 'history', load: () => import('./history.js') },
  { name: 'dashboard', load: () => import('./dashboard.js') },
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

/**
 * Registers the subcommand named on the command line, loading its modules alone (a cron run of
 * one job does not load the other nineteen and their jobs), or every subcommand when none is
 * named or the name is unknown (help, errors).
 */
export async function registerCommands(program: Command, named?: string): Promise<void> {
  const only = COMMANDS.find((c) => c.name === named);
  const modules = await Promise.all((only ? [only] : COMMANDS).map((c) => c.load()));
  for (const m of modules) m.register(program);
}
