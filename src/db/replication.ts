import type { Config } from '../config/config.js';
import { UsageError } from '../util/errors.js';
import { openDatabase } from './connect.js';
import type { Db } from './types.js';
import { parseDatabaseUrl } from './url.js';

/** Replica URLs from config `database.replicas` (MariaDB only; checked before the run). */
export function replicaUrls(config: Config): string[] {
  const urls = config.value('database.replicas');
  for (const u of urls) {
    if (parseDatabaseUrl(u).kind !== 'mysql')
      throw new UsageError('config database.replicas must list mysql:// or mariadb:// URLs');
  }
  return urls;
}

/** The replica's lag in seconds: null when replication is not running there (unknown). */
export async function replicaLagSeconds(replica: Db): Promise<number | null> {
  const rows = await replica.query<Record<string, unknown>>('SHOW SLAVE STATUS');
  if (!rows.length) return null;
  let worst: number | null = 0;
  for (const r of rows) {
    const v = r.Seconds_Behind_Master ?? r.Seconds_Behind_Source;
    if (v === null || v === undefined) return null;
    worst = Math.max(worst ?? 0, Number(v));
  }
  return worst;
}

/** Watches the configured replicas: `lag()` is the largest lag of them (null if any is unknown). */
export class ReplicaWatch {
  private constructor(private readonly replicas: Db[]) {}

  static async open(urls: readonly string[]): Promise<ReplicaWatch> {
    const dbs: Db[] = [];
    try {
      for (const u of urls) dbs.push(await openDatabase(u));
    } catch (err) {
      await Promise.all(dbs.map((d) => d.close()));
      throw err;
    }
    return new ReplicaWatch(dbs);
  }

  get size(): number {
    return this.replicas.length;
  }

  async lag(): Promise<number | null> {
    let worst = 0;
    for (const r of this.replicas) {
      const l = await replicaLagSeconds(r);
      if (l === null) return null;
      worst = Math.max(worst, l);
    }
    return worst;
  }

  async close(): Promise<void> {
    await Promise.all(this.replicas.map((d) => d.close()));
  }
}
