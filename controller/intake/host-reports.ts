/** Agent reports (capacity and pool facts messages) as records. */
import type { MessageShape } from "@bufbuild/protobuf";
import { HostRole, type HostCapacitySchema, type PoolFactsSchema } from "../../gen/hostaggregates/v1/host_pb.js";
import type { CapacityRecord, PoolFactsRecord } from "../model/records.js";

/** Capacity message → record (undefined message → null). */
export function capacityRecord(c: MessageShape<typeof HostCapacitySchema> | undefined): CapacityRecord | null {
  if (!c) return null;
  return {
    memoryTotalBytes: Number(c.memoryTotalBytes),
    memoryFreeBytes: Number(c.memoryFreeBytes),
    runningVms: c.runningVms,
    cpuVendor: c.cpuVendor,
  };
}

/** Pool facts message → record. */
export function poolFactsRecord(f: MessageShape<typeof PoolFactsSchema> | undefined): PoolFactsRecord | null {
  if (!f) return null;
  const role = f.role === HostRole.MASTER ? "MASTER" : f.role === HostRole.SLAVE ? "SLAVE" : "UNSPECIFIED";
  return {
    hostUuid: f.hostUuid,
    poolUuid: f.poolUuid,
    poolName: f.poolName,
    masterAddress: f.masterAddress,
    role,
    xapiReachable: f.xapiReachable,
    emergencyMode: f.emergencyMode,
  };
}
