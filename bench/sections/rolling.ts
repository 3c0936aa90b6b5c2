/**
 * Rolling reboot (issue 12): wall time of a rolling REBOOT of a whole aggregate through the product
 * (controller → agents → simulated XenServer, started as the sandbox) versus its lower bound: per
 * host, the bandwidth bound of evacuating the VMs it holds at its turn (the simulator's model) plus
 * the reboot (XenServer's fuse + the boot); plus the bound of the return. Target: ≤ 1.15 × bound.
 */
import { join } from "node:path";
import { connect, type ApiClients } from "../../cli/api-clients.js";
import { hasEnded } from "../../cli/wait-operation.js";
import { OperationState, RollingAction, type Operation } from "../../gen/hostaggregates/v1/operation_pb.js";
import { silentLogger } from "../../shared/logging.js";
import { startSandbox } from "../../sandbox/sandbox.js";
import { migrationLowerBoundMs } from "../../simulator/index.js";
import { onCleanup } from "../lib/children.js";
import { ms, num, ratio } from "../lib/report.js";
import type { BenchContext, BenchSection } from "../lib/section.js";

const hosts = 8;
const vmsPerHost = 10;
const vmMiB = 4096;
const maxParallel = 16;
/** Simulator clock: real = nominal × scale (a 4 GiB migration alone ≈ 2 s, a reboot 3.5 s). */
const timeScale = 0.05;

async function waitEnded(api: ApiClients, id: string): Promise<Operation> {
  for (;;) {
    const op = await api.operations.waitOperation({ id, timeout: { seconds: 30n, nanos: 0 } });
    if (hasEnded(op)) return op;
  }
}

export const rollingSection: BenchSection = {
  name: "rolling",
  title: `Rolling reboot of ${hosts} hosts with ${hosts * vmsPerHost} running VMs vs its lower bound`,
  async run(ctx: BenchContext) {
    const sandbox = await startSandbox({ hosts, vmsPerHost: 0, port: 0, stateDir: join(ctx.tmpDir, "rolling"), timeScale, pollIntervalMs: 20, baseAddress: "127.0.5.10", log: silentLogger });
    onCleanup(() => sandbox.close());
    const sim = sandbox.simulator;
    const api = connect({ endpoint: sandbox.info.controller, token: sandbox.info.adminToken });
    const agg = await api.aggregates.createAggregate({ name: "bench-rolling" });
    for (const h of sim.hosts) {
      const op = await waitEnded(api, (await api.aggregates.addHost({ aggregateId: agg.id, host: h.name })).id);
      if (op.state !== OperationState.SUCCEEDED) throw new Error(`AddHost ${h.name}: ${op.error?.message}`);
    }
    for (const h of sim.hosts) sim.control.addVms(h.name, { count: vmsPerHost, memoryMiB: vmMiB, namePrefix: `${h.name}-r` });
    const initial = new Map(sim.control.state().vms.map((v) => [v.uuid, v.residentOn]));

    // The bound, from the run's own plan: each turn's VMs leave that host; the return leaves from where the last turn left them.
    const plan = await api.aggregates.startRollingMaintenance({ aggregateId: agg.id, action: RollingAction.REBOOT, maxParallel, validateOnly: true });
    if (plan.state !== OperationState.SUCCEEDED) throw new Error(`the plan was refused: ${plan.error?.message}`);
    const d = sim.durations;
    const rebootMs = d.fuseMs + d.bootMs;
    const turns = plan.rolling!.hosts.map((h) => ({
      host: h.host,
      evacuationMs: migrationLowerBoundMs(h.plannedMoves.map((m) => ({ memoryBytes: Number(m.memoryBytes), source: h.host })), d),
    }));
    const finalHost = new Map<string, string>();
    for (const h of plan.rolling!.hosts) for (const m of h.plannedMoves) finalHost.set(m.vmUuid, m.toHost);
    const away = sim.control.state().vms.filter((v) => finalHost.has(v.uuid) && finalHost.get(v.uuid) !== v.residentOn);
    const returnMs = migrationLowerBoundMs(away.map((v) => ({ memoryBytes: v.memoryBytes, source: finalHost.get(v.uuid) })), d);
    const boundNominal = turns.reduce((s, t) => s + t.evacuationMs + rebootMs, 0) + returnMs;
    const boundMs = boundNominal * timeScale;

    const started = performance.now();
    const accepted = await api.aggregates.startRollingMaintenance({ aggregateId: agg.id, action: RollingAction.REBOOT, maxParallel });
    const done = await waitEnded(api, accepted.id);
    const wallMs = performance.now() - started;
    if (done.state !== OperationState.SUCCEEDED) throw new Error(`rolling reboot ended ${OperationState[done.state]}: ${done.error?.message}`);
    const moved = sim.control.state().vms.filter((v) => initial.get(v.uuid) !== v.residentOn).length;
    if (moved > 0) throw new Error(`${moved} VM(s) are not back on their original hosts`);

    ctx.report.table(
      ["run", "hosts", "VMs", "wall time ms", "lower bound ms", "of which evacuations / reboots / return", "wall / bound"],
      [[
        "rolling reboot",
        String(hosts),
        String(hosts * vmsPerHost),
        ms(wallMs),
        ms(boundMs),
        `${ms(turns.reduce((s, t) => s + t.evacuationMs, 0) * timeScale)} / ${ms(hosts * rebootMs * timeScale)} / ${ms(returnMs * timeScale)}`,
        ratio(wallMs / boundMs),
      ]],
    );
    ctx.report.line(
      `${vmMiB / 1024} GiB VMs, max_parallel ${maxParallel}, ${d.linkBandwidthMiBps} MiB/s per host link, reboot = fuse ${d.fuseMs / 1000} s + boot ${d.bootMs / 1000} s, ` +
        `× timeScale ${timeScale}; ${done.rolling!.vmsMoved} migrations; the wall time also covers the master's hand-over (designate: ${num((d.designateMs + d.fuseMs + d.restartMs) / 1000)} s nominal), which the bound leaves out.`,
    );
    ctx.report.check("rolling reboot efficiency (bound / wall; ≥ 0.87 means wall ≤ 1.15 × bound)", boundMs / wallMs, 1 / 1.15);
    ctx.report.record("rolling", { hosts, vms: hosts * vmsPerHost, vmMiB, maxParallel, timeScale, wallMs, boundMs, ratio: wallMs / boundMs, migrations: done.rolling!.vmsMoved });
  },
};
