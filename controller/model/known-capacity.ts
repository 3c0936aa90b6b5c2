/**
 * The last complete capacity each host reported. Members whose master died report no memory
 * (their pool database is on the master), so choosing the new master by free memory needs what
 * they said while the pool was healthy. Kept in memory; filled by the master-failure detector.
 */
import type { CapacityRecord, HostRecord } from "./records.js";

/** Last known capacity by host name. */
export class KnownCapacity {
  private readonly byHost = new Map<string, CapacityRecord>();

  /** Remembers a host's capacity when it is a complete report (memory known). */
  observe(host: Pick<HostRecord, "name" | "capacity">): void {
    if (host.capacity && host.capacity.memoryTotalBytes > 0) this.byHost.set(host.name, host.capacity);
  }

  /** Free memory of a host: its current report when complete, else the last complete one (0 when unknown). */
  freeBytes(host: Pick<HostRecord, "name" | "capacity">): number {
    if (host.capacity && host.capacity.memoryTotalBytes > 0) return host.capacity.memoryFreeBytes;
    return this.byHost.get(host.name)?.memoryFreeBytes ?? 0;
  }
}
