/**
 * When a replica renews its leases and until when it trusts one, on its own monotonic clock. The
 * database decides who holds a lease (its expiry is on the database's clock); a replica stops acting
 * under a lease before that expiry could have passed: it counts the TTL from the moment it *sent*
 * the statement that took or renewed the lease (the database set the expiry later than that), less a
 * margin for the two clocks' rates.
 */

/** How often held leases are renewed: three times per TTL, so one late or failed renewal is survived. */
export function renewIntervalMs(ttlMs: number): number {
  return ttlMs / 3;
}

/** What is taken off the TTL locally: a fifth of it, at most a second. */
export function localMarginMs(ttlMs: number): number {
  return Math.min(ttlMs / 5, 1000);
}

/** The local validity deadline (monotonic ms) of a lease taken or renewed by a statement sent at sentAtMs. */
export function localDeadline(sentAtMs: number, ttlMs: number): number {
  return sentAtMs + ttlMs - localMarginMs(ttlMs);
}

/** What a batched renewal means for each lease held: the aggregates it kept (same epoch) and those it lost. */
export function renewalOutcome(
  held: readonly { aggregateId: number; epoch: number }[],
  renewed: readonly { aggregateId: number; epoch: number }[],
): { kept: number[]; lost: number[] } {
  const epochs = new Map(renewed.map((l) => [l.aggregateId, l.epoch]));
  const kept: number[] = [];
  const lost: number[] = [];
  for (const h of held) (epochs.get(h.aggregateId) === h.epoch ? kept : lost).push(h.aggregateId);
  return { kept, lost };
}
