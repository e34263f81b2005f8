import type { Config } from '../../config/config.js';
import { parseBackupName } from '../../jobs/backup-db/backup-files.js';
import { errorMessage, UsageError } from '../../util/errors.js';
import { manifestNameOf } from '../manifest.js';
import { planRetention, type RetentionCandidate, type RetentionRules } from '../retention.js';
import { openRemote } from './index.js';
import type { BackupRemote } from './types.js';
import type { RemoteTarget } from './url.js';

/** What retention decided (and, unless a dry run, did) on one remote. */
export interface RemoteRetention {
  remote: string;
  deleted: string[];
  decisions: { name: string; keep: boolean; reasons: string[] }[];
  /** Set when the remote could not be listed or a deletion failed (what is left stays). */
  error?: string;
}

export interface RemoteRetentionRequest {
  /** Only this type's copies are weighed and deleted: one type's run never touches the other's. */
  type: string;
  rules: RetentionRules;
  /** Local `YYYY-MM-DD HH:MM:SS`, the clock the names are on. */
  now: string;
  dryRun: boolean;
  /** A dry run's would-be backup: weighed as the newest, as it would be after the run. */
  pending?: { name: string; type: string; time: string };
}

/**
 * The local folder's GFS rules applied to each remote's copies, through the remote's own
 * list() and remove(): both see webjobs backup names only, so nothing else in a shared bucket
 * or folder is weighed or deleted. A backup's manifest goes with it.
 */
export async function remoteRetention(
  targets: readonly RemoteTarget[],
  config: Config,
  request: RemoteRetentionRequest,
): Promise<RemoteRetention[]> {
  return Promise.all(
    targets.map(async (target): Promise<RemoteRetention> => {
      const outcome: RemoteRetention = { remote: target.url, deleted: [], decisions: [] };
      try {
        const remote = await openRemote(target, config);
        try {
          await sweep(remote, request, outcome);
        } finally {
          await remote.close().catch(() => undefined);
        }
      } catch (err) {
        if (err instanceof UsageError) throw err;
        outcome.error = errorMessage(err);
      }
      return outcome;
    }),
  );
}

async function sweep(remote: BackupRemote, request: RemoteRetentionRequest, outcome: RemoteRetention): Promise<void> {
  const candidates: RetentionCandidate[] = [];
  for (const f of await remote.list()) {
    const parsed = parseBackupName(f.name);
    if (parsed?.type === request.type) candidates.push({ name: f.name, type: parsed.type, time: parsed.takenAt });
  }
  if (request.pending && !candidates.some((c) => c.name === request.pending?.name)) candidates.push(request.pending);
  const decisions = planRetention(candidates, () => request.rules, request.now);
  outcome.decisions = decisions.map((d) => ({ name: d.name, keep: d.keep, reasons: d.reasons }));
  for (const d of decisions) {
    if (d.keep) continue;
    if (!request.dryRun) {
      await remote.remove(d.name);
      await remote.remove(manifestNameOf(d.name)).catch(() => undefined);
    }
    outcome.deleted.push(d.name);
  }
}
