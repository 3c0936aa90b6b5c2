/**
 * The pre-check of a rolling maintenance (pure): with each host out in turn, where every running VM
 * goes, simulated host after host (a host that is done takes VMs again), and what cannot move; and
 * the estimate of the migrations' duration.
 */
import type { EvacuationRecord, OperationRecord } from "../model/records.js";
import { evacuationRecordOf, planEvacuation, type PlacementTarget, type VmToPlace } from "./placement.js";

/** A member as the pre-check sees it. */
export interface RollingPlanHost extends PlacementTarget {
  /** Takes VMs (enabled and live); the pre-check refuses a run while a member does not. */
  available: boolean;
}

/** A running guest and where it runs. */
export interface RollingPlanVm extends VmToPlace {
  host: string;
}

/** One host's turn: its evacuation plan (moves labelled with the host they leave). */
export interface RollingPlanStep {
  host: string;
  evacuation: EvacuationRecord;
}

/** The whole plan. */
export interface RollingPlan {
  steps: RollingPlanStep[];
  /** Bytes migrated by the evacuations. */
  evacuationBytes: number;
  /** Bytes the return moves back (VMs not on their original host after the last turn). */
  returnBytes: number;
}

/** Plans every turn in `order`, moving the VMs in the simulation as the run would. */
export function planRolling(order: readonly string[], hosts: readonly RollingPlanHost[], vms: readonly RollingPlanVm[], maxParallel: number): RollingPlan {
  const free = new Map(hosts.map((h) => [h.name, h.freeBytes]));
  const placement = new Map(vms.map((v) => [v.uuid, v.host]));
  const steps: RollingPlanStep[] = [];
  let evacuationBytes = 0;
  for (const name of order) {
    const source = hosts.find((h) => h.name === name);
    const leaving = vms.filter((v) => placement.get(v.uuid) === name);
    const targets = hosts.filter((h) => h.name !== name && h.available).map((h) => ({ ...h, freeBytes: free.get(h.name)! }));
    const plan = planEvacuation(leaving, targets, source?.cpuVendor ?? "");
    for (const m of plan.moves) {
      placement.set(m.vm.uuid, m.target.name);
      free.set(m.target.name, free.get(m.target.name)! - m.vm.memoryBytes);
      free.set(name, free.get(name)! + m.vm.memoryBytes);
      evacuationBytes += m.vm.memoryBytes;
    }
    steps.push({ host: name, evacuation: evacuationRecordOf(plan, { fromHost: () => name, vmsTotal: leaving.length, maxParallel, validateOnly: true }) });
  }
  const returnBytes = vms.filter((v) => placement.get(v.uuid) !== v.host).reduce((sum, v) => sum + v.memoryBytes, 0);
  return { steps, evacuationBytes, returnBytes };
}

/** The steps that cannot be made, as one message listing each host and its VMs; undefined when every step can. */
export function describeImpossibleSteps(plan: RollingPlan): string | undefined {
  const bad = plan.steps.map((st, i) => ({ st, i })).filter(({ st }) => st.evacuation.blockers.length > 0);
  if (bad.length === 0) return undefined;
  return bad
    .map(({ st, i }) => `step ${i + 1} (${st.host} out): ${st.evacuation.blockers.map((b) => `${b.vmName} (${b.vmUuid}) ${b.xapiCode}: ${b.reason}`).join("; ")}`)
    .join(" | ");
}

/** 1 GbE: what the estimate assumes before any evacuation of the aggregate was observed. */
export const defaultBandwidthBytesPerSecond = 110 * 1024 * 1024;

/**
 * The bandwidth earlier evacuations achieved: bytes of their DONE moves over the time their
 * migration step took, over the most recent operations that have one (undefined when none).
 */
export function observedBandwidth(ops: readonly OperationRecord[]): number | undefined {
  let bytes = 0;
  let ms = 0;
  for (const op of ops.slice(0, 10)) {
    const step = op.steps.find((st) => (st.name === "migrate-vms" || st.name.endsWith(":migrate-vms")) && st.state === "DONE" && st.startedAt && st.finishedAt);
    const moved = op.evacuation?.moves.filter((m) => m.state === "DONE").reduce((sum, m) => sum + m.memoryBytes, 0) ?? 0;
    if (!step || moved === 0) continue;
    bytes += moved;
    ms += Date.parse(step.finishedAt!) - Date.parse(step.startedAt!);
  }
  return bytes > 0 && ms > 0 ? (bytes / ms) * 1000 : undefined;
}

/** Estimated duration of the plan's migrations at a bandwidth (evacuations, then the return unless skipped). */
export function estimateMs(plan: RollingPlan, bytesPerSecond: number, skipReturn: boolean): number {
  const bytes = plan.evacuationBytes + (skipReturn ? 0 : plan.returnBytes);
  return Math.round((bytes / bytesPerSecond) * 1000);
}
