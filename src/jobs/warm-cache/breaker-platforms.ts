/**
 * Seed 004's `circuit-breaker-platforms`: which platforms a circuit guards (null: all). A
 * platform outside the list is warmed without a breaker: never skipped, nothing recorded.
 * Names compare without regard to case, as people type them.
 */
export function breakerPlatforms(listed: readonly string[] | null): {
  guards(platform: string): boolean;
  listed: readonly string[] | null;
} {
  const wanted = listed ? new Set(listed.map((p) => p.toLowerCase())) : null;
  return { guards: (platform) => wanted === null || wanted.has(platform.toLowerCase()), listed };
}
