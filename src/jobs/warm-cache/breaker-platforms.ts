import type { Settings } from '../../config/settings.js';

/**
 * Seed 004's `circuit-breaker-platforms`: which platforms a circuit guards (default all). A
 * platform outside the list is warmed without a breaker: never skipped, nothing recorded.
 * Names compare without regard to case, as people type them.
 */
export function breakerPlatforms(settings: Settings): { guards(platform: string): boolean; listed: string[] | null } {
  const listed = settings.list('circuit-breaker-platforms');
  const wanted = listed ? new Set(listed.map((p) => p.toLowerCase())) : null;
  return { guards: (platform) => wanted === null || wanted.has(platform.toLowerCase()), listed };
}
