/** Messages that show who acts: an operation or aggregate with the lease of its aggregate (read now). */
import { leaseIdOf } from "../leases/lease-ids.js";
import { isTerminal, type AggregateRecord, type OperationRecord } from "../model/records.js";
import type { Store } from "../store/store.js";
import { aggregateMessage, operationMessage } from "./convert.js";

/** The operation's message; while it is unfinished, with its aggregate's current lease (the replica running it). */
export async function leasedOperationMessage(store: Store, op: OperationRecord): Promise<ReturnType<typeof operationMessage>> {
  return operationMessage(op, isTerminal(op.state) ? undefined : await store.leases.current(leaseIdOf(op)));
}

/** The aggregate's message with its current lease. */
export async function leasedAggregateMessage(store: Store, aggregate: AggregateRecord): Promise<ReturnType<typeof aggregateMessage>> {
  return aggregateMessage(aggregate, await store.leases.current(aggregate.id));
}
