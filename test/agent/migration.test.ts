/** MigrateVm against the simulator: progress stream, already-there, cancellation, XenAPI refusals. */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MigrationState, type MigrateVmProgress } from "../../gen/hostaggregates/agent/v1/pool_agent_pb.js";
import { xapiErrorOf } from "../../shared/errors.js";
import { expectRpcError } from "../support/rpc-errors.js";
import { eventually, startAgentWorld, type AgentWorld } from "./agent-harness.js";

let w: AgentWorld;
const uuidOf = (name: string) => w.host(name).uuid;
const vmState = (uuid: string) => w.sim.control.state().vms.find((v) => v.uuid === uuid)!;

beforeAll(async () => {
  w = await startAgentWorld({ sim: { hosts: 2, baseAddress: "127.0.0.150" } });
  await w.agent("xs2").client.joinPool({ masterAddress: "127.0.0.150" });
});
afterAll(async () => {
  await w?.close();
});

async function collect(stream: AsyncIterable<MigrateVmProgress>): Promise<MigrateVmProgress[]> {
  const out: MigrateVmProgress[] = [];
  for await (const message of stream) out.push(message);
  return out;
}

describe("MigrateVm", () => {
  it("streams progress from the migration task and ends DONE with the VM on the target", async () => {
    const [vm] = w.sim.control.addVms("xs1", { count: 1, memoryMiB: 4096 });
    // Called on the slave's agent: it follows HOST_IS_SLAVE to the master.
    const messages = await collect(w.agent("xs2").client.migrateVm({ vmUuid: vm!.uuid, targetHostUuid: uuidOf("xs2") }));

    const running = messages.filter((m) => m.state === MigrationState.RUNNING);
    expect(running.length, `progress messages: ${messages.map((m) => m.progress).join(", ")}`).toBeGreaterThanOrEqual(3);
    const progress = running.map((m) => m.progress);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(progress.some((p) => p > 0 && p < 1)).toBe(true);
    const last = messages.at(-1)!;
    expect([last.state, last.progress]).toEqual([MigrationState.DONE, 1]);
    expect(last.task).toMatch(/^OpaqueRef:/);
    expect(new Set(messages.map((m) => m.task)).size).toBe(1);
    expect(vmState(vm!.uuid).residentOn).toBe("xs2");
  });

  it("a VM already on the target is DONE at once without a task", async () => {
    const [vm] = w.sim.control.addVms("xs2", { count: 1, memoryMiB: 1024 });
    const messages = await collect(w.agent("xs1").client.migrateVm({ vmUuid: vm!.uuid, targetHostUuid: uuidOf("xs2") }));
    expect(messages.map((m) => [m.state, m.progress, m.task])).toEqual([[MigrationState.DONE, 1, ""]]);
  });

  it("cancelling the call cancels the migration task; the VM stays where it was", async () => {
    const [vm] = w.sim.control.addVms("xs1", { count: 1, memoryMiB: 32768 });
    const abort = new AbortController();
    const stream = w.agent("xs1").client.migrateVm({ vmUuid: vm!.uuid, targetHostUuid: uuidOf("xs2") }, { signal: abort.signal });
    let seen = 0;
    let migratingWhenCancelled: string | null = null;
    await expect(
      (async () => {
        for await (const message of stream) {
          if (message.state === MigrationState.RUNNING && ++seen === 2) {
            migratingWhenCancelled = vmState(vm!.uuid).migratingTo;
            abort.abort();
          }
        }
      })(),
    ).rejects.toSatisfy((err) => ConnectError.from(err).code === Code.Canceled);
    expect(migratingWhenCancelled).toBe("xs2");
    // The migration stops well before it could have finished (32 GiB takes ~3 s here) and the VM stays.
    await eventually("the migration to be cancelled", () => vmState(vm!.uuid).migratingTo === null, 1_000);
    expect(vmState(vm!.uuid).residentOn).toBe("xs1");
  });

  it("a refusal inside the task reaches the caller with its XenAPI code and parameters", async () => {
    const [vm] = w.sim.control.addVms("xs1", { count: 1, memoryMiB: 1024, localStorage: true });
    const listed = (await w.agent("xs1").client.listVms({ hostUuid: uuidOf("xs1") })).vms.find((v) => v.uuid === vm!.uuid);
    expect(listed?.powerState).toBe("Running");
    const err = await expectRpcError(collect(w.agent("xs1").client.migrateVm({ vmUuid: vm!.uuid, targetHostUuid: uuidOf("xs2") })), Code.FailedPrecondition);
    const xapi = xapiErrorOf(err);
    expect(xapi?.code).toBe("VM_REQUIRES_SR");
    expect(xapi?.params).toHaveLength(2);
    expect(xapi?.params.every((p) => p.startsWith("OpaqueRef:"))).toBe(true);
    expect(vmState(vm!.uuid).residentOn).toBe("xs1");
  });

  it("unknown VMs and hosts are NOT_FOUND; missing fields are INVALID_ARGUMENT", async () => {
    await expectRpcError(collect(w.agent("xs1").client.migrateVm({ vmUuid: "nope", targetHostUuid: uuidOf("xs2") })), Code.NotFound);
    await expectRpcError(collect(w.agent("xs1").client.migrateVm({ vmUuid: "", targetHostUuid: "" })), Code.InvalidArgument);
  });
});
