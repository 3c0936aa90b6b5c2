/** How many members of an aggregate can be in maintenance at once, from their last reported memory. */
import type { HostRecord } from "../model/records.js";
import { maintenanceHeadroom } from "../pool/placement.js";

/** Headroom of an aggregate's members (confirmed members in service with a capacity report). */
export function headroomOf(members: readonly HostRecord[]): number {
  const usable = members.filter((h) => h.membership === "MEMBER" && h.capacity && h.maintenance === "NONE");
  return maintenanceHeadroom(usable.map((h) => ({ totalBytes: h.capacity!.memoryTotalBytes, freeBytes: h.capacity!.memoryFreeBytes })));
}
