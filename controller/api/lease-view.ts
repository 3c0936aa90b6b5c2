/** Messages that show who acts: an operation with the lease of its aggregate (read now). */
import { leaseIdOf } from "../leases/lease-ids.js";
import { isTerminal, type OperationRecord } from "../model/records.js";
import type { Lease, Store } from "../store/store.js";
import { operationMessage } from "./convert.js";

/** Reads a lease once per reader: a page of many operations of one aggregate reads its lease once. */
export type LeaseReader = (leaseId: number) => Promise<Lease | undefined>;

/** A reader of current leases that remembers what it read (use one per response). */
export function leaseReader(store: Store): LeaseReader {
  const read = new Map<number, Promise<Lease | undefined>>();
  return (leaseId) => {
    let lease = read.get(leaseId);
    if (!lease) read.set(leaseId, (lease = store.leases.current(leaseId)));
    return lease;
  };
}

/** The operation's message; while it is unfinished, with its aggregate's current lease (the replica running it). */
export async function leasedOperationMessage(store: Store, op: OperationRecord, leases: LeaseReader = leaseReader(store)): Promise<ReturnType<typeof operationMessage>> {
  return operationMessage(op, isTerminal(op.state) ? undefined : await leases(leaseIdOf(op)));
}
