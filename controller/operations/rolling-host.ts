/** Where a rolling maintenance keeps each host's plan and progress, and the helpers its steps share. */
import type { StepContext } from "../engine/step-spec.js";
import type { OperationOf, RollingHostRecord, RollingMaintenanceParams } from "../model/records.js";

/** The params of a rolling maintenance (the steps get the wide context: one cast, here). */
export function rollingParams(s: Pick<StepContext, "op">): RollingMaintenanceParams {
  return (s.op as OperationOf<"ROLLING_MAINTENANCE">).params;
}

/** The record of one host of the run. */
export function rollingHost(s: Pick<StepContext, "op">, name: string): RollingHostRecord {
  const h = rollingParams(s).hosts.find((x) => x.name === name);
  if (!h) throw new Error(`host ${name} is not part of this rolling maintenance`);
  return h;
}

/** Host names the step names carry: "xs1:reboot-host" → ["xs1", "reboot-host"] (host names never hold ":"). */
export function splitStepName(name: string): [host: string, step: string] | undefined {
  const i = name.indexOf(":");
  return i > 0 ? [name.slice(0, i), name.slice(i + 1)] : undefined;
}

/** Totals derived from the hosts' records (recomputed, so a repeated step never counts twice). */
export function refreshTotals(p: RollingMaintenanceParams): void {
  p.vmsMoved = p.hosts.reduce((sum, h) => sum + h.vmsMoved, 0) + (p.returnMigrations ?? 0);
}

/** "1764640000.123" > "1764640000." as numbers (xapi's other_config time stamps); false when either is missing. */
export function isNewerStamp(now: string, before: string): boolean {
  if (!now) return false;
  if (!before) return true;
  return Number(now) > Number(before);
}

/** Waits ms, or less when the signal aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const onAbort = () => (clearTimeout(t), resolve());
    const t = setTimeout(() => (signal.removeEventListener("abort", onAbort), resolve()), ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
