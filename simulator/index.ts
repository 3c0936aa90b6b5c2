/**
 * Fake XAPI: a multi-host XenServer pool simulator speaking XenAPI XML-RPC.
 * See docs/simulator.md.
 */
export { startSimulator, type Simulator, type SimulatorHost } from "./simulator.js";
export { DEFAULT_DURATIONS, type Durations, type SimulatorOptions } from "./options.js";
export { ScaledClock, type ClockTimer } from "./clock.js";
export {
  ControlError,
  type HostSpec,
  type SimulatorControl,
  type VmSpec,
} from "./control/control.js";
export type { HostState, PoolState, SimulatorState, VmState } from "./control/state-view.js";
export type { FaultSpec } from "./faults.js";
export { DEFAULT_FACTS, type HostFacts } from "./state/facts.js";
export type { PowerState } from "./state/rows.js";
export {
  migrationLowerBoundMs,
  singleMigrationMs,
  type MigrationLoad,
  type MigrationModel,
} from "./migration/bandwidth-model.js";
export { vmOverheadBytes } from "./state/standalone.js";
