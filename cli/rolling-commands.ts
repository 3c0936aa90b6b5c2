/** aggctl's rolling maintenance: start it (or print its plan), and follow it with progress until it ends or pauses. */
import { Code, ConnectError } from "@connectrpc/connect";
import { OperationSchema, OperationState, RollingAction, type Operation } from "../gen/hostaggregates/v1/operation_pb.js";
import { positiveInt } from "./arguments.js";
import type { CommandIo } from "./command.js";
import { bytes, json, table } from "./output.js";
import { UsageError } from "./usage-error.js";
import { progressLine, waitForOperation } from "./wait-operation.js";

/** --action values. */
export const rollingActions: Record<string, RollingAction> = { reboot: RollingAction.REBOOT, pause: RollingAction.PAUSE, hook: RollingAction.HOOK };

/** The request fields from the command's flags (usage errors for bad ones). */
export function rollingRequest(values: { action?: string; hook?: string; hosts?: string; "max-parallel"?: string; "dry-run"?: boolean; "skip-return"?: boolean }) {
  const action = rollingActions[(values.action ?? "reboot").toLowerCase()];
  if (action === undefined) throw new UsageError(`--action must be reboot, pause or hook (got "${values.action}")`);
  if (action === RollingAction.HOOK && !values.hook) throw new UsageError("--action hook needs --hook NAME (a hook configured on the agents)");
  if (action !== RollingAction.HOOK && values.hook) throw new UsageError("--hook goes with --action hook");
  const hosts = values.hosts ? values.hosts.split(",").map((h) => h.trim()) : [];
  if (hosts.some((h) => h === "")) throw new UsageError(`--hosts must be a comma-separated list of host names (got "${values.hosts}")`);
  return {
    action,
    hook: values.hook ?? "",
    hosts,
    maxParallel: values["max-parallel"] ? positiveInt(values["max-parallel"], "--max-parallel") : 0,
    validateOnly: values["dry-run"] ?? false,
    skipReturn: values["skip-return"] ?? false,
  };
}

const minutes = (d: { seconds: bigint } | undefined) => (d ? `${(Number(d.seconds) / 60).toFixed(1)} min` : "-");

/** Prints a dry run: each turn's moves and blockers, the estimate, and whether the run can go. */
export function printRollingPlan(io: CommandIo, op: Operation): void {
  if (io.json) return io.out(json(OperationSchema, op));
  const r = op.rolling!;
  io.out(`rolling ${RollingAction[r.action].toLowerCase()} of ${r.hostsTotal} host(s), in this order: ${r.hosts.map((h) => `${h.host}${h.master ? " (master)" : ""}`).join(", ")}`);
  io.out(
    table(
      ["Step", "Host out", "VMs to move", "Memory", "Cannot move"],
      r.hosts.map((h, i) => [String(i + 1), h.host, String(h.plannedMoves.length), bytes(h.plannedMoves.reduce((s, m) => s + m.memoryBytes, 0n)), h.blockers.map((b) => `${b.vmName}: ${b.xapiCode}`).join(", ") || "-"]),
    ),
  );
  io.out(`estimated migration time: ${minutes(r.estimatedDuration)} at ${bytes(r.estimateBandwidthBytesPerSecond)}/s${r.skipReturn ? " (no return)" : " (return included)"}, plus the action on each host`);
  if (op.state === OperationState.FAILED) io.out(`the run would be refused: ${op.error?.message ?? ""}`);
}

/**
 * Follows a rolling maintenance until it ends — or pauses: a PAUSE says what to do and returns; a
 * pause for a failed hook is an error (exit status 1) with the same instructions.
 */
export async function followRolling(io: CommandIo, id: string): Promise<Operation> {
  const final = await waitForOperation(io, id, { untilPaused: true });
  const r = final.rolling;
  if (r?.paused) {
    io.progress(progressLine(final), true);
    if (r.action === RollingAction.PAUSE) {
      io.out(`paused with ${r.currentHost} empty, disabled and in maintenance (${r.hostsDone}/${r.hostsTotal} hosts done)`);
      io.out(`when the work is done: aggctl operation-resume ${id}`);
      return final;
    }
    throw new ConnectError(`operation ${id} paused: ${r.pauseReason}`, Code.FailedPrecondition);
  }
  if (r) {
    io.out(`rolling maintenance done: ${r.hostsDone}/${r.hostsTotal} host(s), ${r.vmsMoved} migration(s), ${r.vmsReturned} VM move(s) back`);
    if (r.unreturnedVms.length) io.out(table(["VM (not back home)", "Home", "Now on", "Why"], r.unreturnedVms.map((u) => [u.vmName, u.homeHost, u.currentHost || "-", u.reason])));
  }
  return final;
}
