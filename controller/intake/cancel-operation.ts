/** CancelOperation: records the request (never cleared) in one transaction; a PENDING operation ends at once. */
import { failedPrecondition } from "../../shared/errors.js";
import type { IntakeContext } from "../context.js";
import { isPaused, isTerminal, nowIso, type OperationRecord } from "../model/records.js";
import { requireOperation } from "./lookups.js";

/** Cancels a pending operation at once; asks a running one to stop (before its next step, or inside a step that can stop; a paused one at once). */
export async function cancelOperation(ctx: IntakeContext, id: string): Promise<OperationRecord> {
  const { store } = ctx;
  const wasPaused = await store.transaction(async () => {
    const op = await requireOperation(store, id);
    if (isTerminal(op.state)) throw failedPrecondition(`operation "${op.id}" already ended (${op.state})`);
    op.cancelRequested = true;
    await store.operations.save(op, nowIso());
    await store.events.append({ kind: "operation.cancel-requested", aggregateId: op.aggregateId, host: op.host, operationId: op.id, message: `cancellation of ${op.id} requested` });
    return isPaused(op);
  });
  await ctx.engine.cancelPending(id);
  // A paused operation runs no step that could see the request: run it again, its paused step ends it.
  if (wasPaused) ctx.engine.schedule((await store.operations.get(id))!);
  return (await store.operations.get(id))!;
}
