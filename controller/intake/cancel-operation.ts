/** CancelOperation: records the request (never cleared) in one transaction; a PENDING operation ends at once. */
import { failedPrecondition } from "../../shared/errors.js";
import type { IntakeContext } from "../context.js";
import { isTerminal, nowIso, type OperationRecord } from "../model/records.js";
import { requireOperation } from "./lookups.js";

/** Cancels a pending operation at once; asks a running one to stop (before its next step, or inside a step that can stop). */
export async function cancelOperation(ctx: IntakeContext, id: string): Promise<OperationRecord> {
  const { store } = ctx;
  await store.transaction(async () => {
    const op = await requireOperation(store, id);
    if (isTerminal(op.state)) throw failedPrecondition(`operation "${op.id}" already ended (${op.state})`);
    op.cancelRequested = true;
    await store.operations.save(op, nowIso());
    await store.events.append({ kind: "operation.cancel-requested", aggregateId: op.aggregateId, host: op.host, operationId: op.id, message: `cancellation of ${op.id} requested` });
  });
  await ctx.engine.cancelPending(id);
  return (await store.operations.get(id))!;
}
