import { describe, expect, it } from "vitest";
import { heartbeatAgeMs, heartbeatsFresh, livenessWindowMs } from "./liveness.js";

const at = (iso: string | null, registered = "2026-01-01T00:00:00.000Z") => ({ lastHeartbeatAt: iso, registeredAt: registered });
const now = Date.parse("2026-01-01T00:01:00.000Z");

describe("liveness window", () => {
  it("is three heartbeat intervals", () => {
    expect(livenessWindowMs(5000)).toBe(15_000);
  });
  it("counts from the last heartbeat, else from the registration", () => {
    expect(heartbeatAgeMs(at("2026-01-01T00:00:50.000Z"), now)).toBe(10_000);
    expect(heartbeatAgeMs(at(null), now)).toBe(60_000);
  });
  it("is fresh up to and including the window, silent after it", () => {
    expect(heartbeatsFresh(at("2026-01-01T00:00:45.000Z"), 5000, now)).toBe(true);
    expect(heartbeatsFresh(at("2026-01-01T00:00:44.999Z"), 5000, now)).toBe(false);
    expect(heartbeatsFresh(at(null), 5000, now)).toBe(false);
  });
});
