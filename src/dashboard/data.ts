import type { Config } from '../config/config.js';
import { Settings } from '../config/settings.js';
import { TableMap } from '../config/tables.js';
import { circuitStatus, type PlatformStatus } from '../circuit/status.js';
import { CircuitStore } from '../circuit/store.js';
import type { Db } from '../db/types.js';
import { listBackups, type BackupFile } from '../jobs/backup-db/backup-files.js';
import { loadSchedule } from '../schedule/schedule.js';
import { buildStatus, type JobStatus } from '../schedule/status.js';
import { addDays, formatLocalDate, formatLocalDateTime } from '../util/time.js';
import { apiDays, backupDays, runTimeline, type ApiDay, type BackupDay, type TimelineDay } from './queries.js';
import { circuitTransitions } from './circuit-log.js';
import { findWarnings } from './warnings.js';

export const TIMELINE_DAYS = 30;
export const TREND_DAYS = 90;

/** A window of local days ending today: its first day and every day in it, oldest first. */
export interface DayWindow {
  from: string;
  days: string[];
}

export interface DashboardData {
  generatedAt: string;
  timeZone: string;
  /** Where the figures come from (password masked). */
  source: string;
  jobs: JobStatus[];
  /** False when the database has no run history table at all. */
  hasHistory: boolean;
  timeline: { window: DayWindow; days: TimelineDay[] };
  backups: {
    window: DayWindow;
    dir: string;
    retentionDays: number;
    maxAgeHours: number;
    days: BackupDay[];
    files: BackupFile[];
  };
  /** null when the database has no api_statistics_summary table. */
  api: { window: DayWindow; days: ApiDay[] } | null;
  circuits: {
    enabled: boolean;
    platforms: (PlatformStatus & { updatedAt: string })[];
    transitions: { at: string; text: string }[];
  };
  warnings: string[];
}

function dayWindow(today: string, length: number): DayWindow {
  const from = addDays(today, -(length - 1));
  return { from, days: Array.from({ length }, (_, i) => addDays(from, i)) };
}

/**
 * Everything the page shows, read through the modules the other commands use (status, run
 * summaries, circuits, backup files). Only SELECTs: the database is never written, not even
 * the tables webjobs would create on first use.
 */
export async function collectDashboard(db: Db, config: Config, now: Date): Promise<DashboardData> {
  const tz = config.timezone;
  const today = formatLocalDate(now, tz);
  const tables = new TableMap(config);
  const schedule = await loadSchedule(config);
  const status = await buildStatus(db, config, schedule, now);
  const hasHistory = await db.tableExists('webjobs_runs');
  const timelineWindow = dayWindow(today, TIMELINE_DAYS);
  const trendWindow = dayWindow(today, TREND_DAYS);

  const dir = config.value('backup.dir');
  const retentionDays = config.value('backup.retentionDays');
  const maxAgeHours = config.value('backup.maxAgeHours');
  const files = listBackups(dir);

  const settings = await Settings.load(db, config, tables);
  const stored = await CircuitStore.list(db);
  const circuits = circuitStatus(stored, settings, now, tz);
  const updated = new Map(stored.map((c) => [c.platform, c.updatedAtMs]));

  const data: DashboardData = {
    generatedAt: formatLocalDateTime(now, tz),
    timeZone: tz,
    source: db.description,
    jobs: status.jobs,
    hasHistory,
    timeline: {
      window: timelineWindow,
      days: hasHistory
        ? await runTimeline(
            db,
            timelineWindow.from,
            status.jobs.map((j) => j.job),
          )
        : [],
    },
    backups: {
      window: trendWindow,
      dir,
      retentionDays,
      maxAgeHours,
      days: hasHistory ? await backupDays(db, trendWindow.from) : [],
      files,
    },
    api: await apiDays(db, tables, trendWindow.from).then((days) => (days ? { window: trendWindow, days } : null)),
    circuits: {
      enabled: circuits.enabled,
      platforms: circuits.platforms.map((p) => ({
        ...p,
        updatedAt: formatLocalDateTime(new Date(updated.get(p.platform) ?? now.getTime()), tz),
      })),
      transitions: hasHistory
        ? (await circuitTransitions(db, now.getTime() - TIMELINE_DAYS * 86_400_000)).map((t) => ({
            at: formatLocalDateTime(new Date(t.atMs), tz),
            text: t.text,
          }))
        : [],
    },
    warnings: [],
  };
  data.warnings = findWarnings(data, now);
  return data;
}
