import { describe, expect, it } from "vitest";
import { localDeadline, localMarginMs, renewalOutcome, renewIntervalMs } from "./lease-timing.js";

describe("lease timing", () => {
  it("renews three times per TTL", () => {
    expect(renewIntervalMs(9000)).toBe(3000);
  });

  it("trusts a lease for the TTL less a margin, counted from when the renewal was sent", () => {
    expect(localMarginMs(10_000)).toBe(1000);
    expect(localMarginMs(2000)).toBe(400);
    expect(localDeadline(5000, 10_000)).toBe(14_000);
    expect(localDeadline(5000, 2000)).toBe(6600);
  });

  it("a renewal keeps the leases it returned with the same epoch and loses the others", () => {
    const held = [
      { aggregateId: 1, epoch: 3 },
      { aggregateId: 2, epoch: 1 },
      { aggregateId: 0, epoch: 7 },
    ];
    expect(renewalOutcome(held, [{ aggregateId: 1, epoch: 3 }, { aggregateId: 2, epoch: 2 }])).toEqual({ kept: [1], lost: [2, 0] });
    expect(renewalOutcome(held, [])).toEqual({ kept: [], lost: [1, 2, 0] });
  });
});
