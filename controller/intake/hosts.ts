/** Host registration, heartbeats, listing and enabling. */
import type { MessageShape } from "@bufbuild/protobuf";
import { HostRole, type HostCapacitySchema, type PoolFactsSchema } from "../../gen/hostaggregates/v1/host_pb.js";
import type { FieldViolation } from "../../shared/errors.js";
import { parseHostPort } from "../../shared/address.js";
import { assertValid } from "./aggregates.js";
import { decodePageToken, effectivePageSize, encodePageToken } from "../model/paging.js";
import { nowIso, type CapacityRecord, type HostRecord, type PoolFactsRecord } from "../model/records.js";
import { checkAvailabilityZone, checkHostName, checkPageSize, violations } from "../model/validation.js";

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

/** Validates RegisterHost fields. */
export function validateRegistration(r: { name: string; xapiAddress: string; agentEndpoint: string; availabilityZoneHint: string }): void {
  const found: FieldViolation[] = violations(
    checkHostName(r.name, "name"),
    r.availabilityZoneHint !== "" ? checkAvailabilityZone(r.availabilityZoneHint, "availability_zone_hint") : undefined,
  );
  if (r.xapiAddress.length === 0 || r.xapiAddress.length > 255 || /\s/.test(r.xapiAddress)) {
    found.push({ field: "xapi_address", description: "xapi_address must be a host name or IP address (1–255 characters, no blanks)" });
  }
  try {
    parseHostPort(r.agentEndpoint, "agent_endpoint");
  } catch {
    found.push({ field: "agent_endpoint", description: `agent_endpoint must be HOST:PORT (got "${r.agentEndpoint.slice(0, 60)}")` });
  }
  assertValid(found);
}

/** A page of hosts ordered by name. */
export function pageOfHosts(
  list: (afterName: string, limit: number) => HostRecord[],
  input: { aggregateId: number; pageSize: number; pageToken: string },
): { hosts: HostRecord[]; nextPageToken: string } {
  assertValid(violations(checkPageSize(input.pageSize)));
  const filter = `aggregate=${input.aggregateId}`;
  const after = decodePageToken<string>(input.pageToken, filter, "string") ?? "";
  const limit = effectivePageSize(input.pageSize);
  const page = list(after, limit + 1);
  const more = page.length > limit;
  const hosts = more ? page.slice(0, limit) : page;
  return { hosts, nextPageToken: more ? encodePageToken(hosts.at(-1)!.name, filter) : "" };
}

export { nowIso };
