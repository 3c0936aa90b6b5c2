/**
 * Evacuation (issue 6): wall time of evacuating a host's VMs through the whole product
 * (controller → agents → simulated XenServer, started as the sandbox) versus the simulator's
 * bandwidth lower bound for the same VMs (setup + Σ memory / link bandwidth + downtime, the source
 * link shared by concurrent migrations). Target: wall / bound ≤ 1.10, reported as bound / wall ≥ 0.91.
 */
import { join } from "node:path";
import { connect, type ApiClients } from "../../cli/api-clients.js";
import { silentLogger } from "../../shared/logging.js";
import { startSandbox } from "../../sandbox/sandbox.js";
import { OperationState, type Operation } from "../../gen/hostaggregates/v1/operation_pb.js";
import { onCleanup } from "../lib/children.js";
import { ms, num, ratio } from "../lib/report.js";
import type { BenchContext, BenchSection } from "../lib/section.js";
import { hasEnded } from "../../cli/wait-operation.js";

/** Simulator clock for the run: real = nominal × scale (4 GiB at 110 MiB/s ≈ 0.75 s). */
const timeScale = 0.02;
const vmSizesMiB = [1024, 2048, 4096, 8192];
const vmCount = 24;
const maxParallel = 4;

async function waitEnded(api: ApiClients, id: string): Promise<Operation> {
  for (;;) {
    const op = await api.operations.waitOperation({ id, timeout: { seconds: 30n, nanos: 0 } });
    if (hasEnded(op)) return op;
  }
}

export const evacuationSection: BenchSection = {
  name: "evacuation",
  title: `Evacuation of ${vmCount} VMs (max_parallel ${maxParallel}) vs the simulator's bandwidth lower bound`,
  async run(ctx: BenchContext) {
    const sandbox = await startSandbox({
      hosts: 3,
      vmsPerHost: 0,
      port: 0,
      stateDir: join(ctx.tmpDir, "evacuation"),
      timeScale,
      pollIntervalMs: 20,
      baseAddress: "127.0.4.10",
      log: silentLogger,
    });
    onCleanup(() => sandbox.close());
    const sim = sandbox.simulator;
    const api = connect({ endpoint: sandbox.info.controller, token: sandbox.info.adminToken });

    const agg = await api.aggregates.createAggregate({ name: "bench-evacuation" });
    for (const h of sim.hosts) {
      const op = await waitEnded(api, (await api.aggregates.addHost({ aggregateId: agg.id, host: h.name })).id);
      if (op.state !== OperationState.SUCCEEDED) throw new Error(`AddHost ${h.name}: ${op.error?.message}`);
    }
    const vms = vmSizesMiB.flatMap((memoryMiB) => sim.control.addVms("xs2", { count: vmCount / vmSizesMiB.length, memoryMiB, namePrefix: `m${memoryMiB}` }));
    const bound = sim.control.migrationLowerBound(vms.map((v) => v.uuid));

    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const accepted = await api.hosts.startMaintenance({ host: "xs2", maxParallel });
    const done = await waitEnded(api, accepted.id);
    const wallMs = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    // Simulator, agents and controller run in this one process: its CPU over the operation.
    const cpuMs = (cpu.user + cpu.system) / 1000;
    if (done.state !== OperationState.SUCCEEDED) throw new Error(`evacuation ended ${OperationState[done.state]}: ${done.error?.message}`);
    const left = sim.control.state().vms.filter((v) => v.residentOn === "xs2").length;
    if (left > 0) throw new Error(`${left} VM(s) still on xs2 after a successful evacuation`);

    const totalMiB = vms.reduce((s, v) => s + v.memoryMiB, 0);
    const stepMs = (name: string) => {
      const st = done.steps.find((x) => x.name === name);
      const at = (t: typeof st extends undefined ? never : NonNullable<typeof st>["startedAt"]) => (t ? Number(t.seconds) * 1000 + t.nanos / 1e6 : 0);
      return st ? at(st.finishedAt) - at(st.startedAt) : 0;
    };
    const migrateMs = stepMs("migrate-vms");
    ctx.report.table(
      ["evacuation", "VMs", "memory", "wall time ms", "migrate step ms", "lower bound ms", "wall / bound", "process CPU ms", "CPU ms per VM moved"],
      [
        [
          "xs2 → xs1, xs3",
          String(done.evacuation?.vmsMoved ?? 0),
          `${num(totalMiB / 1024, 1)} GiB`,
          ms(wallMs),
          ms(migrateMs),
          ms(bound.realMs),
          ratio(wallMs / bound.realMs),
          ms(cpuMs),
          ms(cpuMs / Math.max(1, done.evacuation?.vmsMoved ?? vmCount)),
        ],
      ],
    );
    ctx.report.line(
      `lower bound: ${ms(bound.nominalMs)} nominal at ${sim.durations.linkBandwidthMiBps} MiB/s per host link, × timeScale ${timeScale}; ` +
        `wall time covers the whole operation (disable, plan, migrate, verify); process CPU is this bench process over it (simulator, agents and controller run in it).`,
    );
    ctx.report.check("evacuation efficiency (bound / wall; ≥ 0.91 means wall ≤ 1.10 × bound)", bound.realMs / wallMs, 1 / 1.1);
    ctx.report.record("evacuation", { vms: vmCount, totalMiB, maxParallel, timeScale, wallMs, migrateMs, boundMs: bound.realMs, ratio: wallMs / bound.realMs, cpuMs });
  },
};
