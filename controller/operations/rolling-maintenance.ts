/**
 * RollingMaintenance: each host in turn goes through host maintenance as StartMaintenance does it
 * (the same steps: disable, plan, hand the master role over, evacuate, finish), then the action
 * (reboot and wait, pause, or hook), then back into service as StopMaintenance does it (enable,
 * leave maintenance); at the end the VMs go back to their original hosts. Step names carry the
 * host ("xs1:migrate-vms"), so the journal resumes at the exact step of the exact host.
 */
import { Cancelled } from "../engine/failures.js";
import type { OperationSpec, StepSpec } from "../engine/step-spec.js";
import { beginEvacuation, evacuationEnded } from "../model/lifecycle.js";
import { nowIso, type RollingActionName } from "../model/records.js";
import { pauseStep, rebootHostStep, runHookStep, waitForHostStep } from "./rolling-actions.js";
import { refreshTotals, rollingHost, rollingParams, splitStepName } from "./rolling-host.js";
import { returnVmsStep } from "./rolling-return.js";
import { maintenanceEntrySteps } from "./start-maintenance.js";
import { maintenanceExitSteps } from "./stop-maintenance.js";

/** The steps of one host's turn, for an action, in order. */
function hostTurn(hostName: string, action: RollingActionName | "ANY"): StepSpec[] {
  const entry = maintenanceEntrySteps((s) => ({
    host: hostName,
    settings: rollingHost(s, hostName).maintenance,
    preferredMasters: rollingParams(s).hosts.filter((h) => h.state === "DONE").map((h) => h.name),
  }));
  const exit = maintenanceExitSteps(() => hostName);
  // The host's evacuation finishes even when a cancellation arrives: a run stops between hosts, never inside one.
  const uncancellable = (st: StepSpec): StepSpec => ({ ...st, run: (s) => st.run({ ...s, cancelRequested: async () => false }) });

  const start: StepSpec = {
    ...entry["disable-host"],
    async run(s) {
      const rec = rollingHost(s, hostName);
      if (rec.state === "PENDING") {
        if (await s.cancelRequested()) {
          const done = rollingParams(s).hosts.filter((h) => h.state === "DONE").length;
          throw new Cancelled(`cancelled before ${hostName}: ${done} of ${rollingParams(s).hosts.length} host(s) done and back in service`);
        }
        rec.state = "EVACUATING";
        rec.startedAt = nowIso();
        await s.ctx.store.transaction(async () => {
          await s.ctx.store.hosts.apply(hostName, beginEvacuation());
          await s.ctx.store.events.append({ kind: "rolling.host-started", aggregateId: s.op.aggregateId, host: hostName, operationId: s.op.id, message: `rolling maintenance: ${hostName} is taken out of service` });
        });
        await s.checkpoint();
      }
      return await entry["disable-host"].run(s);
    },
  };
  const migrate: StepSpec = {
    ...entry["migrate-vms"],
    async run(s) {
      try {
        return await uncancellable(entry["migrate-vms"]).run(s);
      } finally {
        rollingHost(s, hostName).vmsMoved = s.op.evacuation?.moves.filter((m) => m.state === "DONE").length ?? 0;
        refreshTotals(rollingParams(s));
      }
    },
  };
  const inMaintenance: StepSpec = {
    ...entry["finish-maintenance"],
    async run(s) {
      const result = await entry["finish-maintenance"].run(s);
      rollingHost(s, hostName).state = "IN_ACTION";
      return result;
    },
  };
  const finish: StepSpec = {
    ...exit["finish-maintenance"],
    name: "back-in-service",
    async run(s) {
      const result = await exit["finish-maintenance"].run(s);
      const rec = rollingHost(s, hostName);
      rec.state = "DONE";
      rec.finishedAt = nowIso();
      await s.ctx.store.transaction(async () => {
        await s.ctx.store.events.append({ kind: "rolling.host-finished", aggregateId: s.op.aggregateId, host: hostName, operationId: s.op.id, message: `rolling maintenance: ${hostName} is back in service (${rec.vmsMoved} VM(s) had moved off it)` });
      });
      // A cancellation stops the run here, with this host back in service (the VMs stay where they are).
      if (await s.cancelRequested()) {
        const done = rollingParams(s).hosts.filter((h) => h.state === "DONE").length;
        throw new Cancelled(`${hostName} is back in service; cancelled with ${done} of ${rollingParams(s).hosts.length} host(s) done`);
      }
      return { detail: `${hostName} is back in service` };
    },
  };
  const actions: Record<RollingActionName, StepSpec[]> = {
    REBOOT: [rebootHostStep(hostName), waitForHostStep(hostName)],
    PAUSE: [pauseStep(hostName)],
    HOOK: [runHookStep(hostName)],
  };
  const steps = [
    start,
    entry["plan-evacuation"],
    entry["hand-over-master"],
    migrate,
    inMaintenance,
    ...(action === "ANY" ? Object.values(actions).flat() : actions[action]),
    exit["enable-host"],
    finish,
  ];
  return steps.map((st) => ({ ...st, name: `${hostName}:${st.name}`, metricName: st.name }));
}

/** How RollingMaintenance runs. */
export const rollingMaintenanceSpec: OperationSpec<"ROLLING_MAINTENANCE"> = {
  kind: "ROLLING_MAINTENANCE",
  steps: [returnVmsStep],
  stepNamed(name) {
    const parts = splitStepName(name);
    return parts ? hostTurn(parts[0], "ANY").find((st) => st.name === name) : undefined;
  },
  async plan(s) {
    const p = s.op.params;
    return [...p.hosts.flatMap((h) => hostTurn(h.name, p.action)), ...(p.skipReturn ? [] : [returnVmsStep])];
  },
  failureBreaksPool: false,
  async succeeded(s) {
    const p = s.op.params;
    const left = p.unreturned.length ? `; ${p.unreturned.length} VM(s) could not go back to their hosts` : "";
    await s.ctx.store.events.append({ kind: "rolling.finished", aggregateId: s.op.aggregateId, host: null, operationId: s.op.id, message: `rolling maintenance (${p.action.toLowerCase()}) of ${p.hosts.length} host(s) done; ${p.vmsMoved} migration(s)${left}` });
  },
  async ended(s, outcome) {
    // A host caught mid-evacuation gets its state back as a failed StartMaintenance leaves it; a host
    // already empty (in its action or paused) stays in maintenance, disabled, for the operator.
    for (const rec of s.op.params.hosts.filter((h) => h.state === "EVACUATING")) {
      const host = await s.ctx.store.hosts.get(rec.name);
      if (host && host.maintenance === "ENTERING") await s.ctx.store.hosts.apply(host.name, evacuationEnded(host, outcome.message));
    }
  },
};
