import { describe, expect, it } from "vitest";
import type { PoolFactsRecord } from "../model/records.js";
import { ReportTrigger } from "./report-trigger.js";

const facts = (over: Partial<PoolFactsRecord> = {}): PoolFactsRecord => ({
  hostUuid: "h1",
  poolUuid: "p1",
  poolName: "pool",
  masterAddress: "10.0.0.1",
  role: "SLAVE",
  xapiReachable: true,
  emergencyMode: false,
  ...over,
});

describe("ReportTrigger", () => {
  it("fires on every registration with a reachable XAPI", () => {
    const t = new ReportTrigger();
    expect(t.observe("xs1", facts(), "registration")).toBe(true);
    expect(t.observe("xs1", facts(), "registration")).toBe(true);
    expect(t.observe("xs1", facts({ xapiReachable: false }), "registration")).toBe(false);
  });

  it("fires on a heartbeat only when the pool facts changed (first one included)", () => {
    const t = new ReportTrigger();
    expect(t.observe("xs1", facts(), "heartbeat")).toBe(true);
    expect(t.observe("xs1", facts(), "heartbeat")).toBe(false);
    expect(t.observe("xs1", facts({ poolName: "renamed" }), "heartbeat")).toBe(false);
    expect(t.observe("xs1", facts({ emergencyMode: true, masterAddress: "10.0.0.9" }), "heartbeat")).toBe(true);
    expect(t.observe("xs1", facts({ emergencyMode: true, masterAddress: "10.0.0.9" }), "heartbeat")).toBe(false);
    expect(t.observe("xs1", facts({ role: "MASTER" }), "heartbeat")).toBe(true);
    expect(t.observe("xs2", facts({ role: "MASTER" }), "heartbeat")).toBe(true);
  });

  it("never fires without facts or with an unreachable XAPI, but remembers the change", () => {
    const t = new ReportTrigger();
    expect(t.observe("xs1", null, "heartbeat")).toBe(false);
    expect(t.observe("xs1", facts(), "heartbeat")).toBe(true);
    expect(t.observe("xs1", facts({ xapiReachable: false }), "heartbeat")).toBe(false);
    // Back: the facts changed again, so the next heartbeat fires.
    expect(t.observe("xs1", facts(), "heartbeat")).toBe(true);
  });
});
