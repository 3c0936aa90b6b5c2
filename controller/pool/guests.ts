/** Which VMs of a pool are guests (not the control domain, not templates) and which of them run. */
import type { VmInfo } from "../../gen/hostaggregates/agent/v1/pool_agent_pb.js";

type VmFlags = Pick<VmInfo, "powerState" | "isControlDomain" | "isTemplate">;

/** A guest VM: neither a host's control domain nor a template. */
export const isGuest = (v: VmFlags): boolean => !v.isControlDomain && !v.isTemplate;

/** A running guest VM (what evacuations move and what dies with a host). */
export const isRunningGuest = (v: VmFlags): boolean => isGuest(v) && v.powerState === "Running";
