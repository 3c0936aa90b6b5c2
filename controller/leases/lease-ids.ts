/** Which lease covers what: an aggregate's own, or the fleet lease. */
import type { OperationRecord } from "../model/records.js";

/** The fleet lease's id: duties about hosts in no aggregate run under it (no aggregate has id 0). */
export const fleetLeaseId = 0;

/** The lease an operation runs under: its aggregate's (the fleet lease for one of no aggregate). */
export function leaseIdOf(op: Pick<OperationRecord, "aggregateId">): number {
  return op.aggregateId ?? fleetLeaseId;
}
