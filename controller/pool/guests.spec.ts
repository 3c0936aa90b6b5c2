import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { VmInfoSchema } from "../../gen/hostaggregates/agent/v1/pool_agent_pb.js";
import { isGuest, isRunningGuest } from "./guests.js";

const vm = (over: Parameters<typeof create<typeof VmInfoSchema>>[1] = {}) => create(VmInfoSchema, { uuid: "vm-1", name: "vm", powerState: "Running", ...over });

describe("isGuest", () => {
  it("is true for an ordinary VM, whatever its power state", () => {
    for (const powerState of ["Running", "Halted", "Paused", "Suspended"]) expect(isGuest(vm({ powerState }))).toBe(true);
  });

  it("is false for a host's control domain", () => {
    expect(isGuest(vm({ isControlDomain: true }))).toBe(false);
  });

  it("is false for a template", () => {
    expect(isGuest(vm({ isTemplate: true, powerState: "Halted" }))).toBe(false);
    expect(isGuest(vm({ isTemplate: true, isControlDomain: true }))).toBe(false);
  });
});

describe("isRunningGuest", () => {
  it("is true for a running guest", () => {
    expect(isRunningGuest(vm())).toBe(true);
  });

  it("is false for a guest that is not running", () => {
    for (const powerState of ["Halted", "Paused", "Suspended", ""]) expect(isRunningGuest(vm({ powerState }))).toBe(false);
  });

  it("is false for a running control domain", () => {
    expect(isRunningGuest(vm({ isControlDomain: true }))).toBe(false);
  });

  it("is false for a template, even one reported Running", () => {
    expect(isRunningGuest(vm({ isTemplate: true }))).toBe(false);
  });
});
