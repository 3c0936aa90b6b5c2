/** OperationService handlers. */
import type { ServiceImpl } from "@connectrpc/connect";
import { durationMs } from "@bufbuild/protobuf/wkt";
import { OperationService, OperationState } from "../../gen/hostaggregates/v1/operation_pb.js";
import { failedPrecondition, invalidArgument, notFound, unimplemented } from "../../shared/errors.js";
import { assertValid } from "../intake/aggregates.js";
import { decodePageToken, effectivePageSize, encodePageToken } from "../model/paging.js";
import type { OperationRecord, OperationStateName } from "../model/records.js";
import { checkHostName, checkPageSize, violations } from "../model/validation.js";
import { operationMessage } from "./convert.js";
import type { ControllerContext } from "../context.js";

const terminal = new Set<OperationStateName>(["SUCCEEDED", "FAILED", "CANCELLED"]);
/** Longest WaitOperation. */
export const maxWaitMs = 60_000;

/** Handlers of OperationService over the controller context. */
export function operationService(ctx: ControllerContext): ServiceImpl<typeof OperationService> {
  const { store, changes } = ctx;
  const requireOperation = (id: string): OperationRecord => {
    if (id === "" || id.length > 100) throw invalidArgument([{ field: "id", description: "operation id is required (at most 100 characters)" }]);
    const op = store.operations.get(id);
    if (!op) throw notFound(`operation "${id}" not found`);
    return op;
  };
  return {
    getOperation(req) {
      return operationMessage(requireOperation(req.id));
    },
    listOperations(req) {
      assertValid(violations(checkPageSize(req.pageSize), req.host !== "" ? checkHostName(req.host) : undefined));
      if (req.aggregateId < 0n) assertValid([{ field: "aggregate_id", description: "aggregate_id must not be negative" }]);
      const state = req.state === OperationState.UNSPECIFIED ? undefined : (OperationState[req.state] as OperationStateName | undefined);
      if (req.state !== OperationState.UNSPECIFIED && state === undefined) assertValid([{ field: "state", description: "unknown state" }]);
      const filter = `a=${req.aggregateId};h=${req.host};s=${req.state}`;
      const before = decodePageToken<number>(req.pageToken, filter, "number") ?? Number.MAX_SAFE_INTEGER;
      const limit = effectivePageSize(req.pageSize);
      const page = store.operations.list({
        aggregateId: req.aggregateId === 0n ? undefined : Number(req.aggregateId),
        host: req.host === "" ? undefined : req.host,
        state,
        beforeSeq: before,
        limit: limit + 1,
      });
      const more = page.length > limit;
      const operations = more ? page.slice(0, limit) : page;
      return { operations: operations.map(operationMessage), nextPageToken: more ? encodePageToken(operations.at(-1)!.seq, filter) : "" };
    },
    async waitOperation(req, call) {
      const timeoutMs = req.timeout ? durationMs(req.timeout) : maxWaitMs;
      if (timeoutMs < 0) throw invalidArgument([{ field: "timeout", description: "timeout must not be negative" }]);
      const deadline = Date.now() + Math.min(timeoutMs, maxWaitMs, call.timeoutMs() ?? maxWaitMs);
      let op = requireOperation(req.id);
      while (!terminal.has(op.state) && Date.now() < deadline && !call.signal.aborted) {
        await changes.next(op.id, Math.min(1000, deadline - Date.now()), call.signal);
        op = requireOperation(req.id);
      }
      return operationMessage(op);
    },
    async *watchOperation(req, call) {
      let op = requireOperation(req.id);
      let lastUpdate = "";
      while (!call.signal.aborted) {
        if (op.updatedAt !== lastUpdate || terminal.has(op.state)) {
          lastUpdate = op.updatedAt;
          yield operationMessage(op);
          if (terminal.has(op.state)) return;
        }
        await changes.next(op.id, 1000, call.signal);
        op = requireOperation(req.id);
      }
    },
    cancelOperation(req) {
      const op = requireOperation(req.id);
      if (terminal.has(op.state)) throw failedPrecondition(`operation "${op.id}" already ended (${op.state})`);
      if (!ctx.operations) throw unimplemented("operations cannot run yet: pool orchestration is not implemented");
      ctx.operations.cancel(op.id);
      return operationMessage(store.operations.get(op.id)!);
    },
  };
}
