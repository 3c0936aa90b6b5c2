/**
 * Evacuation (issue 6): wall time of evacuating a host's VMs through the whole product
 * (controller → agents → simulated XenServer) versus the simulator's bandwidth lower bound for
 * the same VMs (setup + Σ memory / link bandwidth + downtime, the source link shared by concurrent
 * migrations). Target: wall / bound ≤ 1.10, reported as bound / wall ≥ 0.91.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { startAgent, type Agent } from "../../agent/index.js";
import { TokenRegistry } from "../../shared/auth.js";
import { formatHostPort } from "../../shared/address.js";
import { silentLogger } from "../../shared/logging.js";
import { createRpcClient } from "../../shared/rpc/client.js";
import { startController } from "../../controller/server.js";
import { startSimulator } from "../../simulator/index.js";
import { AggregateService } from "../../gen/hostaggregates/v1/aggregate_pb.js";
import { HostService } from "../../gen/hostaggregates/v1/host_pb.js";
import { OperationService, OperationState, type Operation } from "../../gen/hostaggregates/v1/operation_pb.js";
import { onCleanup } from "../lib/children.js";
import { ms, num, ratio } from "../lib/report.js";
import type { BenchContext, BenchSection } from "../lib/section.js";

/** Simulator clock for the run: real = nominal × scale (4 GiB at 110 MiB/s ≈ 0.75 s). */
const timeScale = 0.02;
const vmSizesMiB = [1024, 2048, 4096, 8192];
const vmCount = 24;
const maxParallel = 4;

async function waitEnded(ops: ReturnType<typeof createRpcClient<typeof OperationService>>, id: string): Promise<Operation> {
  for (;;) {
    const op = await ops.waitOperation({ id, timeout: { seconds: 30n, nanos: 0 } });
    if (op.state === OperationState.SUCCEEDED || op.state === OperationState.FAILED || op.state === OperationState.CANCELLED) return op;
  }
}

export const evacuationSection: BenchSection = {
  name: "evacuation",
  title: `Evacuation of ${vmCount} VMs (max_parallel ${maxParallel}) vs the simulator's bandwidth lower bound`,
  async run(ctx: BenchContext) {
    const dir = join(ctx.tmpDir, "evacuation");
    mkdirSync(dir, { recursive: true });
    const sim = await startSimulator({ hosts: 3, baseAddress: "127.0.4.10", timeScale, password: "bench" });
    onCleanup(() => sim.close());
    const adminToken = "bench-admin";
    const agentToken = "bench-agent";
    const controller = await startController({
      grpcListen: "127.0.0.1:0",
      dbPath: join(dir, "controller.db"),
      tokens: new TokenRegistry().add(adminToken, "admin").add(agentToken, "agent"),
      agentCredentials: { token: agentToken },
      heartbeatIntervalMs: 1000,
      reconcileIntervalMs: 0,
      retryDelayMs: 50,
      log: silentLogger,
    });
    onCleanup(() => controller.close(1000));
    const endpoint = formatHostPort(controller.grpcAddress);
    const agents: Agent[] = [];
    for (const h of sim.hosts) {
      agents.push(
        await startAgent({
          listen: "127.0.0.1:0",
          hostName: h.name,
          xapiUrl: h.url,
          xapiUsername: "root",
          xapiPassword: "bench",
          controller: endpoint,
          token: agentToken,
          pollIntervalMs: 20,
          log: silentLogger,
        }),
      );
    }
    onCleanup(() => Promise.allSettled(agents.map((a) => a.close())).then(() => undefined));
    const opts = { endpoint, token: adminToken };
    const aggregates = createRpcClient(AggregateService, opts);
    const hosts = createRpcClient(HostService, opts);
    const operations = createRpcClient(OperationService, opts);
    while ((await hosts.listHosts({})).hosts.length < sim.hosts.length) await new Promise((r) => setTimeout(r, 50));

    const agg = await aggregates.createAggregate({ name: "bench-evacuation" });
    for (const h of sim.hosts) {
      const op = await waitEnded(operations, (await aggregates.addHost({ aggregateId: agg.id, host: h.name })).id);
      if (op.state !== OperationState.SUCCEEDED) throw new Error(`AddHost ${h.name}: ${op.error?.message}`);
    }
    const vms = vmSizesMiB.flatMap((memoryMiB) => sim.control.addVms("xs2", { count: vmCount / vmSizesMiB.length, memoryMiB, namePrefix: `m${memoryMiB}` }));
    const bound = sim.control.migrationLowerBound(vms.map((v) => v.uuid));

    const started = performance.now();
    const accepted = await hosts.startMaintenance({ host: "xs2", maxParallel });
    const done = await waitEnded(operations, accepted.id);
    const wallMs = performance.now() - started;
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
      ["evacuation", "VMs", "memory", "wall time ms", "migrate step ms", "lower bound ms", "wall / bound"],
      [["xs2 → xs1, xs3", String(done.evacuation?.vmsMoved ?? 0), `${num(totalMiB / 1024, 1)} GiB`, ms(wallMs), ms(migrateMs), ms(bound.realMs), ratio(wallMs / bound.realMs)]],
    );
    ctx.report.line(
      `lower bound: ${ms(bound.nominalMs)} nominal at ${sim.durations.linkBandwidthMiBps} MiB/s per host link, × timeScale ${timeScale}; ` +
        `wall time covers the whole operation (disable, plan, migrate, verify).`,
    );
    ctx.report.check("evacuation efficiency (bound / wall; ≥ 0.91 means wall ≤ 1.10 × bound)", bound.realMs / wallMs, 1 / 1.1);
    ctx.report.record("evacuation", { vms: vmCount, totalMiB, maxParallel, timeScale, wallMs, migrateMs, boundMs: bound.realMs, ratio: wallMs / bound.realMs });
  },
};
