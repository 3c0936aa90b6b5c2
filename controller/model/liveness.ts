/** The liveness window of an agent: how long after its last heartbeat (or registration) it still counts as alive. */
import type { HostRecord } from "./records.js";

/** Heartbeat intervals without a heartbeat after which a host's agent counts as silent. */
export const silentAfterIntervals = 3;

/** The liveness window for a heartbeat interval. */
export const livenessWindowMs = (heartbeatIntervalMs: number): number => silentAfterIntervals * heartbeatIntervalMs;

/** Milliseconds since the host's agent last heartbeated (or registered). */
export function heartbeatAgeMs(host: Pick<HostRecord, "lastHeartbeatAt" | "registeredAt">, now = Date.now()): number {
  return now - Date.parse(host.lastHeartbeatAt ?? host.registeredAt);
}

/** True while the host's agent heartbeated within the liveness window. */
export function heartbeatsFresh(host: Pick<HostRecord, "lastHeartbeatAt" | "registeredAt">, heartbeatIntervalMs: number, now = Date.now()): boolean {
  return heartbeatAgeMs(host, now) <= livenessWindowMs(heartbeatIntervalMs);
}
