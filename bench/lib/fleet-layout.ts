/**
 * The simulated fleet of the `fleet` section: host names, what each host's agent reports, and
 * which hosts are pooled in which aggregates. Shared by the seeding (bench/lib/fleet-seed.ts), the
 * simulated agents (bench/fleet-agents.ts) and the load client's Heartbeat calls, so all three
 * describe the same hosts.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HeartbeatRequestSchema, RegisterHostRequestSchema } from "../../gen/hostaggregates/v1/agent_registry_pb.js";
import { HostRole } from "../../gen/hostaggregates/v1/host_pb.js";

/** Hosts per aggregate for the pooled part of the fleet: a master and one slave. */
export const hostsPerPool = 2;

/** Where the simulated agents say they serve: nothing listens there, so a call to one is refused at once. */
export const unreachableAgentEndpoint = "127.0.0.1:9";

/** The name of fleet host i (0-based). */
export function fleetHostName(i: number): string {
  return `fleet-host-${String(i).padStart(4, "0")}`;
}

/** The XenServer-style uuid of fleet host i. */
function hostUuid(i: number): string {
  return `00000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`;
}

/** The management address of fleet host i (10.x.y.z). */
function xapiAddress(i: number): string {
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

/** How the fleet is laid out: hosts [0, pooledHosts) are in aggregates, hostsPerPool per aggregate. */
export interface FleetLayout {
  hosts: number;
  pooledHosts: number;
}

/** The pool (0-based) a host is in, or undefined for a standalone host. */
export function poolOf(layout: FleetLayout, i: number): number | undefined {
  return i < layout.pooledHosts ? Math.floor(i / hostsPerPool) : undefined;
}

/** The pool facts host i reports: a member of its pool (the first host of each pool is its master), else the master of a pool of one. */
function poolFacts(layout: FleetLayout, i: number) {
  const pool = poolOf(layout, i);
  const master = pool === undefined ? i : pool * hostsPerPool;
  return {
    hostUuid: hostUuid(i),
    poolUuid: `10000000-0000-4000-8000-${master.toString(16).padStart(12, "0")}`,
    poolName: pool === undefined ? fleetHostName(i) : `fleet-pool-${pool}`,
    masterAddress: xapiAddress(master),
    role: master === i ? HostRole.MASTER : HostRole.SLAVE,
    xapiReachable: true,
    emergencyMode: false,
  };
}

const capacity = (i: number) => ({
  memoryTotalBytes: 256n << 30n,
  memoryFreeBytes: (128n + BigInt(i % 64)) << 30n,
  runningVms: i % 40,
  cpuVendor: "GenuineIntel",
});

/** The RegisterHost request of host i's agent. */
export function registration(layout: FleetLayout, i: number): MessageInitShape<typeof RegisterHostRequestSchema> {
  return {
    name: fleetHostName(i),
    xapiAddress: xapiAddress(i),
    agentEndpoint: unreachableAgentEndpoint,
    availabilityZoneHint: "",
    capacity: capacity(i),
    pool: poolFacts(layout, i),
    agentVersion: "bench-fleet",
  };
}

/** The Heartbeat request of host i's agent (name, capacity and pool facts, as agent/registry sends it). */
export function heartbeatRequest(layout: FleetLayout, i: number): MessageInitShape<typeof HeartbeatRequestSchema> {
  return { name: fleetHostName(i), capacity: capacity(i), pool: poolFacts(layout, i) };
}
