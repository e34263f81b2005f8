import type { Db } from '../types.js';

/** One numbered step of webjobs' own schema (the `webjobs_*` tables). */
export interface Migration {
  /** 1, 2, 3…: the order steps apply in, recorded in `webjobs_migrations`; never reused or renumbered. */
  readonly id: number;
  readonly name: string;
  /**
   * Must be idempotent: MariaDB commits each DDL statement on its own, so a step cut short
   * (crash, lost connection) is run again whole; tables made by webjobs before migrations
   * existed must also pass through unchanged.
   */
  up(db: Db): Promise<void>;
}
