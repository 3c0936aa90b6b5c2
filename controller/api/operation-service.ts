/** OperationService handlers: reads → convert; CancelOperation and ResumeOperation → intake. */
import type { ServiceImpl } from "@connectrpc/connect";
import { durationMs } from "@bufbuild/protobuf/wkt";
import { OperationService, OperationState } from "../../gen/hostaggregates/v1/operation_pb.js";
import { invalidArgument } from "../../shared/errors.js";
import type { IntakeContext } from "../context.js";
import { cancelOperation } from "../intake/cancel-operation.js";
import { resumeOperation } from "../intake/resume-operation.js";
import { assertValid, requireOperation } from "../intake/lookups.js";
import { pageOf } from "../model/paging.js";
import { isTerminal, type OperationRecord, type OperationStateName } from "../model/records.js";
import { checkHostName, checkPageSize, violations } from "../model/validation.js";
import { leasedOperationMessage, leaseReader } from "./lease-view.js";

/** Longest WaitOperation. */
export const maxWaitMs = 60_000;

/** Handlers of OperationService. */
export function operationService(ctx: IntakeContext): ServiceImpl<typeof OperationService> {
  const { store } = ctx;
  return {
    async getOperation(req) {
      return await leasedOperationMessage(store, await requireOperation(store, req.id));
    },
    async listOperations(req) {
      assertValid(violations(checkPageSize(req.pageSize), req.host !== "" ? checkHostName(req.host) : undefined));
      if (req.aggregateId < 0n) assertValid([{ field: "aggregate_id", description: "aggregate_id must not be negative" }]);
      const state = req.state === OperationState.UNSPECIFIED ? undefined : (OperationState[req.state] as OperationStateName | undefined);
      if (req.state !== OperationState.UNSPECIFIED && state === undefined) assertValid([{ field: "state", description: "unknown state" }]);
      const page = await pageOf<OperationRecord, number>(
        { pageSize: req.pageSize, pageToken: req.pageToken, filter: `a=${req.aggregateId};h=${req.host};s=${req.state}` },
        "number",
        async (before, limit) =>
          await store.operations.list({
            aggregateId: req.aggregateId === 0n ? undefined : Number(req.aggregateId),
            host: req.host === "" ? undefined : req.host,
            state,
            beforeSeq: before ?? Number.MAX_SAFE_INTEGER,
            limit,
          }),
        (op) => op.seq,
      );
      const leases = leaseReader(store);
      return { operations: await Promise.all(page.items.map((op) => leasedOperationMessage(store, op, leases))), nextPageToken: page.nextPageToken };
    },
    async waitOperation(req, call) {
      const timeoutMs = req.timeout ? durationMs(req.timeout) : maxWaitMs;
      if (timeoutMs < 0) throw invalidArgument([{ field: "timeout", description: "timeout must not be negative" }]);
      const deadline = Date.now() + Math.min(timeoutMs, maxWaitMs, call.timeoutMs() ?? maxWaitMs);
      let op = await requireOperation(store, req.id);
      while (!isTerminal(op.state) && Date.now() < deadline && !call.signal.aborted) {
        await store.changes.next(op.id, Math.min(1000, deadline - Date.now()), call.signal);
        op = await requireOperation(store, req.id);
      }
      return await leasedOperationMessage(store, op);
    },
    async *watchOperation(req, call) {
      let op = await requireOperation(store, req.id);
      let lastUpdate = "";
      while (!call.signal.aborted) {
        if (op.updatedAt !== lastUpdate || isTerminal(op.state)) {
          lastUpdate = op.updatedAt;
          yield await leasedOperationMessage(store, op);
          if (isTerminal(op.state)) return;
        }
        await store.changes.next(op.id, 1000, call.signal);
        op = await requireOperation(store, req.id);
      }
    },
    async cancelOperation(req) {
      return await leasedOperationMessage(store, await cancelOperation(ctx, req.id));
    },
    async resumeOperation(req) {
      return await leasedOperationMessage(store, await resumeOperation(ctx, req.id));
    },
  };
}
