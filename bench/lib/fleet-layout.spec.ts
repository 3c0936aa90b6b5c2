import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { HeartbeatRequestSchema, RegisterHostRequestSchema } from "../../gen/hostaggregates/v1/agent_registry_pb.js";
import { HostRole } from "../../gen/hostaggregates/v1/host_pb.js";
import { fleetHostName, heartbeatRequest, poolOf, registration } from "./fleet-layout.js";

const layout = { hosts: 6, pooledHosts: 4 };
const pool = (i: number) => create(RegisterHostRequestSchema, registration(layout, i)).pool!;

describe("fleet layout", () => {
  it("pools the first hosts two by two, the first of each pair as master; the others are pools of one", () => {
    expect([0, 1, 2, 3, 4, 5].map((i) => poolOf(layout, i))).toEqual([0, 0, 1, 1, undefined, undefined]);
    expect([0, 1, 2, 3, 4, 5].map((i) => pool(i).role)).toEqual([HostRole.MASTER, HostRole.SLAVE, HostRole.MASTER, HostRole.SLAVE, HostRole.MASTER, HostRole.MASTER]);
    // A slave follows its master's address and shares its pool; each host has its own uuid.
    expect(pool(1).poolUuid).toBe(pool(0).poolUuid);
    expect(pool(1).masterAddress).toBe(registration(layout, 0).xapiAddress);
    expect(pool(2).poolUuid).not.toBe(pool(0).poolUuid);
    expect(pool(4).masterAddress).toBe(registration(layout, 4).xapiAddress);
    expect(new Set([0, 1, 2, 3, 4, 5].map((i) => pool(i).hostUuid)).size).toBe(6);
  });

  it("heartbeats report what the host registered with", () => {
    const beat = create(HeartbeatRequestSchema, heartbeatRequest(layout, 3));
    const reg = create(RegisterHostRequestSchema, registration(layout, 3));
    expect(beat.name).toBe(fleetHostName(3));
    expect(beat.pool).toEqual(reg.pool);
    expect(beat.capacity).toEqual(reg.capacity);
  });
});
