/** Follows an operation until it ends, showing progress. */
import { Code, ConnectError } from "@connectrpc/connect";
import { OperationKind, OperationState, RollingHostState, StepState, type Operation } from "../gen/hostaggregates/v1/operation_pb.js";
import type { CommandIo } from "./command.js";

const terminal: ReadonlySet<OperationState> = new Set([OperationState.SUCCEEDED, OperationState.FAILED, OperationState.CANCELLED]);

/** True once an operation (as the API shows it) has ended. */
export const hasEnded = (op: Pick<Operation, "state">): boolean => terminal.has(op.state);

/** A one-line summary of an operation's progress. */
export function progressLine(op: Operation): string {
  const running = op.steps.find((s) => s.state === StepState.RUNNING);
  const done = op.steps.filter((s) => s.state === StepState.DONE || s.state === StepState.SKIPPED).length;
  const parts = [`${op.id} ${OperationKind[op.kind]} ${OperationState[op.state]} ${Math.round(op.progress * 100)}%`];
  if (op.rolling) {
    const r = op.rolling;
    const current = r.hosts.find((h) => h.host === r.currentHost);
    parts.push(`host ${r.currentHost || "-"}${current ? ` (${RollingHostState[current.state].toLowerCase().replace("_", " ")})` : ""}  hosts done ${r.hostsDone}/${r.hostsTotal}  VMs moved ${r.vmsMoved}${r.paused ? "  PAUSED" : ""}`);
    if (running) parts.push(running.name);
  } else if (op.evacuation && op.evacuation.vmsTotal > 0) {
    const migrating = op.evacuation.moves.filter((m) => m.state === 2).map((m) => `${m.vmName}→${m.toHost} ${Math.round(m.progress * 100)}%`);
    parts.push(`VMs moved ${op.evacuation.vmsMoved}/${op.evacuation.vmsTotal}${migrating.length ? ` (migrating: ${migrating.join(", ")})` : ""}`);
  } else if (op.steps.length > 0) {
    parts.push(`step ${Math.min(done + 1, op.steps.length)}/${op.steps.length}${running ? ` ${running.name}${running.detail ? `: ${running.detail}` : ""}` : ""}`);
  }
  return parts.join("  ");
}

/**
 * Watches an operation to its end and returns the final state. Throws when it did not succeed.
 * With untilPaused, also returns (without throwing) as soon as the operation is paused for the operator.
 */
export async function waitForOperation(io: CommandIo, id: string, options: { untilPaused?: boolean } = {}): Promise<Operation> {
  let last: Operation | undefined;
  for (;;) {
    try {
      for await (const op of io.api().operations.watchOperation({ id })) {
        last = op;
        if (options.untilPaused && op.rolling?.paused) return op;
        io.progress(progressLine(op));
      }
      if (last && terminal.has(last.state)) break;
      await new Promise((r) => setTimeout(r, 500));
    } catch (err) {
      // The stream can break on a controller restart: fall back to polling until it answers again.
      if (err instanceof ConnectError && (err.code === Code.Unavailable || err.code === Code.Internal)) {
        io.progress(`${id}: connection lost (${err.rawMessage}); retrying…`);
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      throw err;
    }
  }
  const final = last ?? (await io.api().operations.getOperation({ id }));
  io.progress(progressLine(final), true);
  if (final.state !== OperationState.SUCCEEDED) {
    const reason = final.error ? `${final.error.message}${final.error.xapiCode ? ` (XenAPI ${final.error.xapiCode} [${final.error.xapiParams.join(", ")}])` : ""}` : "";
    throw new ConnectError(`operation ${final.id} ended ${OperationState[final.state]}${reason ? `: ${reason}` : ""}`, Code.Aborted);
  }
  return final;
}
