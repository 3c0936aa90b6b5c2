/** Every kind of operation the engine runs, and what other parts may ask of their steps. */
import { specOf, stepSpecOf, type OperationSpecs } from "../engine/step-spec.js";
import type { OperationRecord } from "../model/records.js";
import { addHostSpec } from "./add-host.js";
import { recoverMasterSpec } from "./recover-master.js";
import { removeHostSpec } from "./remove-host.js";
import { rollingMaintenanceSpec } from "./rolling-maintenance.js";
import { startMaintenanceSpec } from "./start-maintenance.js";
import { stopMaintenanceSpec } from "./stop-maintenance.js";

/** The spec of each kind. */
export const operationSpecs: OperationSpecs = {
  ADD_HOST: addHostSpec,
  REMOVE_HOST: removeHostSpec,
  START_MAINTENANCE: startMaintenanceSpec,
  STOP_MAINTENANCE: stopMaintenanceSpec,
  RECOVER_MASTER: recoverMasterSpec,
  ROLLING_MAINTENANCE: rollingMaintenanceSpec,
};

/** True while the operation runs a planned hand-over of the master role (the master restarts its toolstack meanwhile). */
export function isHandingOverMaster(op: OperationRecord): boolean {
  if (op.state !== "RUNNING") return false;
  const spec = specOf(operationSpecs, op);
  return op.steps.some((st) => st.state === "RUNNING" && stepSpecOf(spec, st.name)?.handsOverMaster === true);
}
