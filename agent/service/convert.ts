/** Conversion of XenAPI records into PoolAgentService messages. */
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  HostRole,
  type HostInfoSchema,
  type PoolInfoSchema,
  type PoolMemberSchema,
  type VmInfoSchema,
} from "../../gen/hostaggregates/agent/v1/pool_agent_pb.js";
import { masterOf, type PoolHost, type PoolSnapshot, type PoolVm } from "./pool-snapshot.js";
import { vmIntrinsicBlockerCodes } from "../../shared/xapi-codes.js";

export type PoolInfoInit = MessageInitShape<typeof PoolInfoSchema>;
export type HostInfoInit = MessageInitShape<typeof HostInfoSchema>;
export type VmInfoInit = MessageInitShape<typeof VmInfoSchema>;
type PoolMemberInit = MessageInitShape<typeof PoolMemberSchema>;

/** A pool member as the master reports it. */
export function poolMember(host: PoolHost, masterRef: string): PoolMemberInit {
  return {
    uuid: host.uuid,
    name: host.name,
    address: host.address,
    enabled: host.enabled,
    live: host.metrics.live,
    memoryTotalBytes: host.metrics.memoryTotal,
    memoryFreeBytes: host.metrics.memoryFree,
    master: host.ref === masterRef,
    cpuVendor: host.cpuVendor,
    bootTime: host.bootTime,
    agentStartTime: host.agentStartTime,
  };
}

/** The pool with every member. */
export function poolInfo(snapshot: PoolSnapshot): PoolInfoInit {
  const master = masterOf(snapshot);
  return {
    uuid: snapshot.pool.uuid,
    name: snapshot.pool.name,
    masterUuid: master?.uuid ?? "",
    masterAddress: master?.address ?? "",
    members: snapshot.hosts.map((h) => poolMember(h, snapshot.pool.masterRef)).sort((a, b) => (a.name ?? "").localeCompare(b.name ?? "")),
  };
}

/** True for guest VMs (not templates, snapshots or control domains). */
export function isGuest(vm: PoolVm): boolean {
  return !vm.isControlDomain && !vm.isTemplate && !vm.isSnapshot;
}


/** A VM; `hostUuidByRef` resolves resident_on. */
export function vmInfo(vm: PoolVm, hostUuidByRef: ReadonlyMap<string, string>, scrub: (text: string) => string = (t) => t): VmInfoInit {
  const code = vm.evacuationBlocker[0] ?? "";
  const localStorage = vm.localStorage || code === "VM_REQUIRES_SR";
  const immobile = vmIntrinsicBlockerCodes.has(code);
  return {
    uuid: vm.uuid,
    name: vm.name,
    powerState: vm.powerState,
    residentHostUuid: vm.residentOn ? (hostUuidByRef.get(vm.residentOn) ?? "") : "",
    memoryBytes: vm.memoryStaticMax,
    isControlDomain: vm.isControlDomain,
    isTemplate: vm.isTemplate,
    localStorage,
    canMigrate: isGuest(vm) && vm.powerState === "Running" && !localStorage && !immobile,
    evacuationBlocker: vm.evacuationBlocker.map(scrub),
  };
}

/** Host uuid by host ref. */
export function hostUuids(snapshot: PoolSnapshot): Map<string, string> {
  return new Map(snapshot.hosts.map((h) => [h.ref, h.uuid]));
}

/** Facts about one host of the pool; `vms` are the pool's VMs when they are wanted. */
export function hostInfo(snapshot: PoolSnapshot, host: PoolHost, vms?: PoolVm[], scrub?: (text: string) => string): HostInfoInit {
  const master = masterOf(snapshot);
  const uuids = hostUuids(snapshot);
  return {
    uuid: host.uuid,
    name: host.name,
    address: host.address,
    role: host.ref === snapshot.pool.masterRef ? HostRole.MASTER : HostRole.SLAVE,
    masterAddress: master?.address ?? "",
    poolUuid: snapshot.pool.uuid,
    poolName: snapshot.pool.name,
    memoryTotalBytes: host.metrics.memoryTotal,
    memoryFreeBytes: host.metrics.memoryFree,
    enabled: host.enabled,
    cpuVendor: host.cpuVendor,
    vms: (vms ?? []).filter((vm) => isGuest(vm) && vm.residentOn === host.ref).map((vm) => vmInfo(vm, uuids, scrub)),
    emergencyMode: false,
    bootTime: host.bootTime,
    agentStartTime: host.agentStartTime,
  };
}
