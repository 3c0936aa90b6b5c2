/**
 * Graceful interruption: the controller process is stopped with SIGTERM or SIGINT (and the sandbox
 * with Ctrl-C) in the middle of an evacuation, a join and an eject, then started again. The same
 * operation must resume and succeed, no step may have been journaled DONE before it really happened,
 * and the record must match the simulated pool as its control API shows it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { afterEach, describe, expect, it } from "vitest";
import type { ApiClients } from "../../cli/api-clients.js";
import { PoolState } from "../../gen/hostaggregates/v1/aggregate_pb.js";
import { MaintenanceState } from "../../gen/hostaggregates/v1/host_pb.js";
import { OperationState, StepState, VmMoveState, type Operation } from "../../gen/hostaggregates/v1/operation_pb.js";
import type { HostState, SimulatorState } from "../../simulator/index.js";
import { eventually } from "../support/eventually.js";
import { waitForOperation } from "./product-harness.js";
import { createPool, SandboxProcess, startProcessProduct, type ProcessProduct, type SimulatorControlApi } from "./interruption-harness.js";

/** Simulator clock: a join takes ~0.6 s, a 2 GiB migration ~0.4 s alone (0.8 s two at a time). */
const timeScale = 0.02;
/** Running VMs put on the evacuated host. */
const guests = 4;

const simHost = (state: SimulatorState, name: string): HostState => state.hosts.find((h) => h.name === name)!;
const runningGuests = (state: SimulatorState, host: string) => state.vms.filter((v) => v.residentOn === host && v.powerState === "Running" && !v.template);
const stepRunning = (op: Operation, name: string) => op.steps.some((s) => s.name === name && s.state === StepState.RUNNING);
const journal = (op: Operation) => op.steps.map((s) => `${s.name}=${StepState[s.state]}${s.detail ? ` (${s.detail})` : ""}`).join(", ");

/** What a step claims about the real pool once journaled DONE or SKIPPED: a violation, or undefined when it holds. */
type Claim = (op: Operation, state: SimulatorState) => string | undefined;

const claims: Record<string, Claim> = {
  "disable-host": (op, st) => (simHost(st, op.host).enabled ? `${op.host} is enabled in XenServer` : undefined),
  "hand-over-master": (op, st) => (simHost(st, op.host).role === "master" ? `${op.host} is still the pool master` : undefined),
  "migrate-vms": (op, st) => {
    const moves = op.evacuation?.moves ?? [];
    const residentOn = (uuid: string) => st.vms.find((v) => v.uuid === uuid)?.residentOn;
    const claimed = Number(/^(\d+) VM\(s\) moved/.exec(op.steps.find((s) => s.name === "migrate-vms")?.detail ?? "")?.[1] ?? moves.length);
    const notDone = moves.filter((m) => m.state !== VmMoveState.DONE);
    const elsewhere = moves.filter((m) => residentOn(m.vmUuid) !== m.toHost);
    if (claimed === moves.length && notDone.length === 0 && elsewhere.length === 0) return undefined;
    return [
      `detail claims ${claimed} of ${moves.length} planned VM(s) moved`,
      `${notDone.length} move(s) not DONE (${notDone.map((m) => VmMoveState[m.state]).join(", ")})`,
      `${elsewhere.length} VM(s) not on their target (${elsewhere.map((m) => `${m.vmName} on ${residentOn(m.vmUuid)}`).join(", ")})`,
    ].join("; ");
  },
  "finish-maintenance": (op, st) => (runningGuests(st, op.host).length > 0 ? `${op.host} still runs ${runningGuests(st, op.host).length} VM(s)` : undefined),
  "init-pool": (op, st) => (simHost(st, op.host).role !== "master" || !simHost(st, op.host).poolName ? `${op.host} does not master a named pool` : undefined),
  "join-pool": (op, st) => {
    const h = simHost(st, op.host);
    return h.role === "slave" && h.toolstack === "up" && h.connected ? undefined : `${op.host} is not a connected slave (role ${h.role}, toolstack ${h.toolstack})`;
  },
  "confirm-membership": (op, st) => (st.pools.some((pl) => pl.master !== op.host && pl.hosts.includes(op.host)) && simHost(st, op.host).live ? undefined : `${op.host} is not a live member`),
  "enable-host": (op, st) => (simHost(st, op.host).enabled ? undefined : `${op.host} is disabled in XenServer`),
  "designate-new-master": (op, st) => (st.pools.some((pl) => pl.master === op.host && pl.hosts.length > 1) ? `${op.host} still masters a pool of several hosts` : undefined),
  "eject-host": (op, st) => (st.pools.some((pl) => pl.master !== op.host && pl.hosts.includes(op.host)) ? `${op.host} is still listed in another host's pool` : undefined),
};

/** The steps journaled DONE/SKIPPED (by `finishedBy`, when given) whose claim does not hold on `state`. */
function falseClaims(op: Operation, state: SimulatorState, finishedBy = Number.POSITIVE_INFINITY): string[] {
  return op.steps
    .filter((s) => (s.state === StepState.DONE || s.state === StepState.SKIPPED) && s.finishedAt && timestampMs(s.finishedAt) <= finishedBy)
    .flatMap((s) => {
      const violation = claims[s.name]?.(op, state);
      return violation ? [`${s.name} journaled ${StepState[s.state]} ("${s.detail}") but ${violation}`] : [];
    });
}

/** Polls the operation and the simulator until `reached` holds for both. */
function until(api: ApiClients, control: SimulatorControlApi, id: string, what: string, reached: (op: Operation, state: SimulatorState) => boolean) {
  return eventually(what, async () => {
    const [op, state] = await Promise.all([api.operations.getOperation({ id }), control.state()]);
    return reached(op, state) && { op, state };
  }, 20_000);
}

/** The simulated pool when the interrupted process had exited, and when that was. */
interface AtExit {
  state: SimulatorState;
  at: number;
}

/**
 * The interrupted operation resumed and ended SUCCEEDED: nothing journaled before the exit claims what
 * had not happened by then, every step's claim holds now, and no other operation of its kind was started
 * for its host.
 */
async function expectResumedAndTruthful(api: ApiClients, control: SimulatorControlApi, op: Operation, exit: AtExit): Promise<void> {
  expect(falseClaims(op, exit.state, exit.at), `steps journaled before the exit, judged on the pool at the exit; journal: ${journal(op)}`).toEqual([]);
  expect(OperationState[op.state], `${op.error?.message}; journal: ${journal(op)}`).toBe("SUCCEEDED");
  expect(timestampMs(op.finishedAt!), "the operation ended after the restart").toBeGreaterThan(exit.at);
  expect(op.steps.every((s) => s.state === StepState.DONE || s.state === StepState.SKIPPED), journal(op)).toBe(true);
  const now = await control.state();
  expect(falseClaims(op, now), `steps judged on the pool now; journal: ${journal(op)}`).toEqual([]);
  const { operations } = await api.operations.listOperations({ host: op.host });
  expect(operations.filter((o) => o.kind === op.kind).map((o) => o.id), "the same operation resumed; none was started anew").toEqual([op.id]);
}

/** The aggregate's record equals the simulated pool: same members, same master, ACTIVE, same enabled flags. */
async function expectRecordMatchesPool(api: ApiClients, control: SimulatorControlApi, aggregateId: bigint): Promise<void> {
  const agg = await api.aggregates.getAggregate({ id: aggregateId });
  const state = await control.state();
  expect(PoolState[agg.pool!.state]).toBe("ACTIVE");
  const master = agg.pool!.masterHost;
  const pool = state.pools.find((pl) => pl.master === master && pl.hosts.includes(master));
  expect(pool, `no simulated pool mastered by ${master}: ${JSON.stringify(state.pools)}`).toBeDefined();
  expect(pool!.name).toBe(agg.name);
  expect([...pool!.hosts].sort()).toEqual([...agg.hosts].sort());
  for (const name of agg.hosts) {
    expect((await api.hosts.getHost({ name })).enabled, `${name} enabled in the record as in XenServer`).toBe(simHost(state, name).enabled);
  }
}

/** The evacuation of `host` is complete: every guest runs where the operation moved it, and the target's record names its origin. */
async function expectEvacuated(api: ApiClients, control: SimulatorControlApi, op: Operation, host: string): Promise<void> {
  const moves = op.evacuation!.moves;
  expect(moves).toHaveLength(guests);
  expect(op.evacuation!.vmsMoved).toBe(guests);
  expect(op.steps.find((s) => s.name === "migrate-vms")?.detail).toBe(`${guests} VM(s) moved`);
  const state = await control.state();
  expect(runningGuests(state, host)).toEqual([]);
  for (const m of moves) {
    const vm = state.vms.find((v) => v.uuid === m.vmUuid)!;
    expect({ on: vm.residentOn, power: vm.powerState, migratingTo: vm.migratingTo }, m.vmName).toEqual({ on: m.toHost, power: "Running", migratingTo: null });
    const target = await api.hosts.getHost({ name: m.toHost });
    expect(target.vms.find((v) => v.uuid === m.vmUuid)?.originHost, `${m.vmName} on ${m.toHost}`).toBe(host);
  }
  expect(await api.hosts.getHost({ name: host })).toMatchObject({ enabled: false, maintenance: MaintenanceState.IN_MAINTENANCE });
  expect(simHost(state, host).enabled).toBe(false);
}

/** Starts StartMaintenance of xs2 (maxParallel 2) with `guests` running 2 GiB VMs on it, and waits until migrate-vms runs with a migration in flight. */
async function evacuationInFlight(api: ApiClients, control: SimulatorControlApi): Promise<string> {
  await control.addVms("xs2", { count: guests, memoryMiB: 2048, namePrefix: "guest" });
  const { id } = await api.hosts.startMaintenance({ host: "xs2", maxParallel: 2 });
  await until(api, control, id, "migrate-vms RUNNING with a migration in flight", (op, st) => stepRunning(op, "migrate-vms") && st.vms.some((v) => v.migratingTo !== null));
  return id;
}

/**
 * Stops the controller process with `signal` (a graceful stop: it must exit 0 by itself), records the
 * simulated pool at that moment, starts it again on the same port (between the hooks) and waits for `id` to end.
 */
async function interruptController(
  product: ProcessProduct,
  id: string,
  signal: "SIGTERM" | "SIGINT",
  hooks: { beforeRestart?: () => Promise<void>; afterRestart?: () => Promise<void> } = {},
): Promise<{ op: Operation; exit: AtExit }> {
  const cp = product.controller;
  await cp.kill(signal);
  const exit: AtExit = { at: Date.now(), state: await product.sim.control.state() };
  const status = { code: cp.child!.exitCode, signal: cp.child!.signalCode };
  expect(status, `a graceful stop exits 0 by itself; controller output:\n${cp.output.slice(-3000)}`).toEqual({ code: 0, signal: null });
  await hooks.beforeRestart?.();
  await cp.start();
  await hooks.afterRestart?.();
  return { op: await product.waitOperation(id, 45_000), exit };
}

describe("graceful interruption of the controller process", () => {
  let p: ProcessProduct | undefined;
  let range = 0;
  const start = async () => (p = await startProcessProduct({ hosts: 2, baseAddress: `127.0.5.${10 + 10 * range++}`, timeScale }));
  afterEach(async () => {
    await p?.close();
    p = undefined;
  });

  /**
   * migrate-vms of StartMaintenance xs2, interrupted while a MigrateVm retry is pending: the agent that
   * sends the migrations (vm-migrations.ts "via": the pool master's) is stopped mid-migration, so its
   * stream fails UNAVAILABLE and the move is re-queued; once a new attempt failed against the stopped
   * agent (the retry back-off runs), the controller gets `signal`. Then the agent and the controller restart.
   */
  async function evacuationInterruptedBy(signal: "SIGTERM" | "SIGINT") {
    const product = await start();
    const aggregateId = await product.createPool(`evac-${signal.toLowerCase()}`, ["xs1", "xs2"]);
    const id = await evacuationInFlight(product.api, product.sim.control);
    const via = (await product.api.aggregates.getAggregate({ id: aggregateId })).pool!.masterHost;
    expect(via).toBe("xs1");
    await product.agents[via]!.stop("SIGTERM");
    const stoppedAt = Date.now();
    // A move that went MIGRATING again after the stop has failed at once (nothing listens): its retry back-off runs.
    await until(product.api, product.sim.control, id, "a MigrateVm retry against the stopped agent", (op) =>
      stepRunning(op, "migrate-vms") && timestampMs(op.updatedAt!) > stoppedAt && op.evacuation!.moves.some((m) => m.state === VmMoveState.MIGRATING && m.progress === 0),
    );
    const { op, exit } = await interruptController(product, id, signal, { beforeRestart: () => product.agents[via]!.start() });
    await expectResumedAndTruthful(product.api, product.sim.control, op, exit);
    await expectEvacuated(product.api, product.sim.control, op, "xs2");
    await expectRecordMatchesPool(product.api, product.sim.control, aggregateId);
  }

  it("SIGTERM during migrate-vms with a MigrateVm retry pending: the evacuation resumes and succeeds", () => evacuationInterruptedBy("SIGTERM"), 45_000);

  it("SIGINT during migrate-vms with a MigrateVm retry pending: the evacuation resumes and succeeds", () => evacuationInterruptedBy("SIGINT"), 45_000);

  it("SIGTERM during a join (join-pool running, pool.join accepted, not yet a member): AddHost resumes and succeeds", async () => {
    const product = await start();
    const aggregateId = await product.createPool("joining", ["xs1"]);
    const { id } = await product.api.aggregates.addHost({ aggregateId, host: "xs2" });
    await until(product.api, product.sim.control, id, "xs2's join under way", (op, st) => {
      const joiner = simHost(st, "xs2");
      const listed = st.pools.some((pl) => pl.master === "xs1" && pl.hosts.includes("xs2"));
      return (stepRunning(op, "join-pool") || stepRunning(op, "confirm-membership")) && listed && !(joiner.role === "slave" && joiner.connected && joiner.live);
    });
    const { op, exit } = await interruptController(product, id, "SIGTERM");
    await expectResumedAndTruthful(product.api, product.sim.control, op, exit);
    await expectRecordMatchesPool(product.api, product.sim.control, aggregateId);
    expect((await product.api.aggregates.getAggregate({ id: aggregateId })).hosts.sort()).toEqual(["xs1", "xs2"]);
  }, 45_000);

  it("SIGTERM during an eject (eject-host running, pool.eject in flight), restarted before XenServer finished: RemoveHost resumes and succeeds", async () => {
    const product = await start();
    const { api, sim } = product;
    const aggregateId = await product.createPool("ejecting", ["xs1", "xs2"]);
    await api.hosts.setHostEnabled({ name: "xs2", enabled: false });
    // The master holds the next pool.eject 8 s (real) before ejecting: the call is in flight at the stop, and
    // XenServer goes on with it while the controller restarts, as it would after any interrupted call.
    await sim.control.setFault("xs1", { method: "pool.eject", delayMs: 8000 / timeScale });
    const { id } = await api.aggregates.removeHost({ aggregateId, host: "xs2" });
    await until(api, sim.control, id, "pool.eject in flight", (op, st) => stepRunning(op, "eject-host") && simHost(st, "xs1").faults === 0);
    const stillEjecting = async () => {
      const pool = (await sim.control.state()).pools.find((pl) => pl.master === "xs1");
      expect(pool?.hosts, "XenServer was still ejecting xs2 when the controller served again").toContain("xs2");
    };
    const { op, exit } = await interruptController(product, id, "SIGTERM", { afterRestart: stillEjecting });
    await expectResumedAndTruthful(api, sim.control, op, exit);
    await expectRecordMatchesPool(api, sim.control, aggregateId);
    expect((await api.aggregates.getAggregate({ id: aggregateId })).hosts).toEqual(["xs1"]);
    // The ejected host reboots as a standalone master and is free in the record.
    await eventually("xs2 standalone again", async () => {
      const h = await sim.control.host("xs2");
      return h.toolstack === "up" && h.role === "master" && h.poolUuid !== simHost(await sim.control.state(), "xs1").poolUuid && (await api.hosts.getHost({ name: "xs2" })).aggregateId === 0n;
    }, 20_000);
  }, 45_000);
});

describe("Ctrl-C of npm start", () => {
  const stateDir = mkdtempSync(join(tmpdir(), "aggregates-sandbox-interrupt-"));
  const args = ["--hosts", "2", "--vms-per-host", "0", "--time-scale", String(timeScale)];
  let sandbox: SandboxProcess | undefined;
  afterEach(async () => {
    await sandbox?.interrupt();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it("Ctrl-C during migrate-vms, then npm start again on the same --state-dir: the evacuation resumes and succeeds", async () => {
    sandbox = await SandboxProcess.start(stateDir, args);
    const aggregateId = await createPool(sandbox.api, "sandbox-evac", ["xs1", "xs2"]);
    const id = await evacuationInFlight(sandbox.api, sandbox.control);
    const { status, lastState } = await sandbox.interrupt();
    expect(lastState, "the simulator answered until the sandbox went down").toBeDefined();
    const exit: AtExit = { at: Date.now(), state: lastState! };
    expect(status.code === 0 || status.signal === "SIGINT", `npm start ended ${JSON.stringify(status)}:\n${sandbox.output().slice(-3000)}`).toBe(true);

    sandbox = await SandboxProcess.start(stateDir, args);
    const { api, control } = sandbox;
    const op = await waitForOperation(api, id, 60_000);
    await expectResumedAndTruthful(api, control, op, exit);
    await expectEvacuated(api, control, op, "xs2");
    await expectRecordMatchesPool(api, control, aggregateId);
  }, 90_000);
});
