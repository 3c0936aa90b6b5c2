/** The one rule for choosing which member takes over as pool master. */

/** A member that could take over. */
export interface MasterCandidate {
  name: string;
  /** Its host answers (alive, or confirmed by its agent). */
  live: boolean;
  enabled: boolean;
  inMaintenance: boolean;
  freeBytes: number;
}

/**
 * The member that takes over: live, enabled and not in maintenance, with the most free memory
 * (ties: the first listed). With `fallbackToAnyLive`, when none qualifies, the live member with the
 * most free memory (e.g. one whose own removal is queued).
 */
export function chooseMaster(candidates: readonly MasterCandidate[], options: { fallbackToAnyLive: boolean }): string | undefined {
  const byFreeMemory = (a: MasterCandidate, b: MasterCandidate) => b.freeBytes - a.freeBytes;
  const live = candidates.filter((c) => c.live);
  const preferred = live.filter((c) => c.enabled && !c.inMaintenance).sort(byFreeMemory)[0];
  if (preferred || !options.fallbackToAnyLive) return preferred?.name;
  return [...live].sort(byFreeMemory)[0]?.name;
}

/** A host record as a candidate (free memory from its last report, or the given figure). */
export function masterCandidate(h: { name: string; liveness: string; enabled: boolean; maintenance: string; capacity: { memoryFreeBytes: number } | null }, freeBytes?: number): MasterCandidate {
  return { name: h.name, live: h.liveness === "ALIVE", enabled: h.enabled, inMaintenance: h.maintenance !== "NONE", freeBytes: freeBytes ?? h.capacity?.memoryFreeBytes ?? 0 };
}
