import { describe, expect, it } from "vitest";
import { strandedInEmergency } from "./fencing.js";

describe("strandedInEmergency", () => {
  const master = "10.0.0.2";
  it("is false for a member out of emergency mode, whatever it follows", () => {
    expect(strandedInEmergency({ emergencyMode: false, masterAddress: "10.0.0.1" }, master)).toBe(false);
    expect(strandedInEmergency({ emergencyMode: false, masterAddress: "" }, master)).toBe(false);
  });
  it("is true in emergency mode following another master", () => {
    expect(strandedInEmergency({ emergencyMode: true, masterAddress: "10.0.0.1" }, master)).toBe(true);
  });
  it("is true in emergency mode when the agent cannot name the master (it started while the host was in emergency mode)", () => {
    expect(strandedInEmergency({ emergencyMode: true, masterAddress: "" }, master)).toBe(true);
  });
  it("is false in emergency mode following the pool's master (its own retry reconnects it)", () => {
    expect(strandedInEmergency({ emergencyMode: true, masterAddress: "10.0.0.2" }, master)).toBe(false);
  });
});
