/** Builds the registry of every XenAPI message the simulator implements. */
import { registerHostCalls } from "./host.js";
import { registerPoolCalls } from "./pool.js";
import { registerPoolJoinCalls } from "./pool-join.js";
import { Registry } from "./registry.js";
import { registerSessionCalls } from "./session.js";
import { registerTaskCalls } from "./task.js";
import { registerVmCalls } from "./vm.js";

/** The full table of XenAPI messages the simulator implements. */
export function buildRegistry(): Registry {
  const reg = new Registry();
  registerSessionCalls(reg);
  registerPoolCalls(reg);
  registerPoolJoinCalls(reg);
  registerHostCalls(reg);
  registerVmCalls(reg);
  registerTaskCalls(reg);
  return reg;
}
