/**
 * Graceful interruption, the full matrix: {SIGTERM of the controller process, SIGINT of it, Ctrl-C of
 * `npm start`} × {migrate-vms with a MigrateVm retry pending, a join, an eject}. Each scenario is
 * written once: it reaches its interruption point, the product is interrupted the column's way and
 * started again, and then the same operation must resume and succeed, no step may have been journaled
 * DONE before it really happened, and the record must match the simulated pool as its control API shows it.
 */
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { afterEach, describe, expect, it } from "vitest";
import type { ApiClients } from "../../cli/api-clients.js";
import { PoolState } from "../../gen/hostaggregates/v1/aggregate_pb.js";
import { MaintenanceState } from "../../gen/hostaggregates/v1/host_pb.js";
import { OperationState, StepState, VmMoveState, type Operation } from "../../gen/hostaggregates/v1/operation_pb.js";
import type { HostState, SimulatorState } from "../../simulator/index.js";
import { eventually } from "../support/eventually.js";
import { controllerSignal, sandboxCtrlC, type InterruptibleProduct, type Interrupted, type Interruption, type RestartHooks } from "./interruption-harness.js";
import type { SimulatorControlApi } from "../../chaos/processes.js";

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

/**
 * The interrupted operation resumed and ended SUCCEEDED: nothing journaled before the exit claims what
 * had not happened by then, every step's claim holds now, and no other operation of its kind was started
 * for its host.
 */
async function expectResumedAndTruthful(api: ApiClients, control: SimulatorControlApi, op: Operation, exit: Interrupted): Promise<void> {
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

/** Where a scenario left the product for the interruption. */
interface Reached {
  aggregateId: bigint;
  /** The operation in flight. */
  id: string;
  hooks?: RestartHooks;
}

/** One row of the matrix: how to reach the interruption point, and what must hold once the operation resumed and ended. */
interface Scenario {
  title: string;
  reach(p: InterruptibleProduct): Promise<Reached>;
  /** Checks beyond those of every scenario (resumed, truthful, record = pool). */
  check(p: InterruptibleProduct, op: Operation, reached: Reached): Promise<void>;
}

/**
 * migrate-vms of StartMaintenance xs2 (maxParallel 2, `guests` running 2 GiB VMs), interrupted while a
 * MigrateVm retry is pending. When only the controller is stopped, the agent that sends the migrations
 * (vm-migrations.ts "via": the pool master's) is stopped first, mid-migration, so its stream fails
 * UNAVAILABLE and the move is re-queued; once a new attempt failed against the stopped agent (the retry
 * back-off runs), the controller is interrupted, and the agent starts again before it. Ctrl-C of the
 * sandbox produces the same by itself: it closes the agents (failing their streams) before the controller.
 */
const evacuation: Scenario = {
  title: "during migrate-vms with a MigrateVm retry pending: StartMaintenance resumes and succeeds",
  async reach(p) {
    const aggregateId = await p.createPool("evac", ["xs1", "xs2"]);
    await p.control.addVms("xs2", { count: guests, memoryMiB: 2048, namePrefix: "guest" });
    const { id } = await p.api.hosts.startMaintenance({ host: "xs2", maxParallel: 2 });
    await until(p.api, p.control, id, "migrate-vms RUNNING with a migration in flight", (op, st) => stepRunning(op, "migrate-vms") && st.vms.some((v) => v.migratingTo !== null));
    const via = (await p.api.aggregates.getAggregate({ id: aggregateId })).pool!.masterHost;
    expect(via).toBe("xs1");
    const agent = p.agents?.[via];
    if (!agent) return { aggregateId, id };
    await agent.stop("SIGTERM");
    const stoppedAt = Date.now();
    // A move that went MIGRATING again after the stop has failed at once (nothing listens): its retry back-off runs.
    await until(p.api, p.control, id, "a MigrateVm retry against the stopped agent", (op) =>
      stepRunning(op, "migrate-vms") && timestampMs(op.updatedAt!) > stoppedAt && op.evacuation!.moves.some((m) => m.state === VmMoveState.MIGRATING && m.progress === 0),
    );
    return { aggregateId, id, hooks: { whileDown: () => agent.start() } };
  },
  // The evacuation of xs2 is complete: every guest runs where the operation moved it, and the target's record names its origin.
  async check({ api, control }, op) {
    const moves = op.evacuation!.moves;
    expect(moves).toHaveLength(guests);
    expect(op.evacuation!.vmsMoved).toBe(guests);
    expect(op.steps.find((s) => s.name === "migrate-vms")?.detail).toBe(`${guests} VM(s) moved`);
    const state = await control.state();
    expect(runningGuests(state, "xs2")).toEqual([]);
    for (const m of moves) {
      const vm = state.vms.find((v) => v.uuid === m.vmUuid)!;
      expect({ on: vm.residentOn, power: vm.powerState, migratingTo: vm.migratingTo }, m.vmName).toEqual({ on: m.toHost, power: "Running", migratingTo: null });
      const target = await api.hosts.getHost({ name: m.toHost });
      expect(target.vms.find((v) => v.uuid === m.vmUuid)?.originHost, `${m.vmName} on ${m.toHost}`).toBe("xs2");
    }
    expect(await api.hosts.getHost({ name: "xs2" })).toMatchObject({ enabled: false, maintenance: MaintenanceState.IN_MAINTENANCE });
    expect(simHost(state, "xs2").enabled).toBe(false);
  },
};

/** AddHost xs2 to xs1's pool, interrupted while join-pool (or confirm-membership) runs: pool.join accepted, xs2 listed, not yet a connected live slave. */
const join: Scenario = {
  title: "during a join (pool.join accepted, not yet a member): AddHost resumes and succeeds",
  async reach(p) {
    const aggregateId = await p.createPool("joining", ["xs1"]);
    const { id } = await p.api.aggregates.addHost({ aggregateId, host: "xs2" });
    await until(p.api, p.control, id, "xs2's join under way", (op, st) => {
      const joiner = simHost(st, "xs2");
      const listed = st.pools.some((pl) => pl.master === "xs1" && pl.hosts.includes("xs2"));
      return (stepRunning(op, "join-pool") || stepRunning(op, "confirm-membership")) && listed && !(joiner.role === "slave" && joiner.connected && joiner.live);
    });
    return { aggregateId, id };
  },
  async check({ api }, _op, { aggregateId }) {
    expect((await api.aggregates.getAggregate({ id: aggregateId })).hosts.sort()).toEqual(["xs1", "xs2"]);
  },
};

/**
 * RemoveHost xs2 (disabled) from xs1's pool, interrupted while eject-host runs with pool.eject in flight:
 * the master holds the call 8 s (real) before acting on it. When only the controller is stopped, the
 * held call is still pending in XenServer when the controller serves again (the simulator applies a
 * fault's delay before the call's own per-pool serialisation, so the resumed step's pool.eject is
 * carried out first and the held one later finds the host gone); when the sandbox's simulator goes down
 * with it, the held call dies with it (nothing was ejected). Either way xs2 is still a member when the
 * controller serves again.
 */
const eject: Scenario = {
  title: "during an eject (pool.eject in flight, not finished when the controller serves again): RemoveHost resumes and succeeds",
  async reach(p) {
    const aggregateId = await p.createPool("ejecting", ["xs1", "xs2"]);
    await p.api.hosts.setHostEnabled({ name: "xs2", enabled: false });
    await p.control.setFault("xs1", { method: "pool.eject", delayMs: 8000 / timeScale });
    const { id } = await p.api.aggregates.removeHost({ aggregateId, host: "xs2" });
    await until(p.api, p.control, id, "pool.eject in flight", (op, st) => stepRunning(op, "eject-host") && simHost(st, "xs1").faults === 0);
    const stillMember = async () => {
      const pool = (await p.control.state()).pools.find((pl) => pl.master === "xs1");
      expect(pool?.hosts, "xs2 was still a member of xs1's pool when the controller served again").toContain("xs2");
    };
    return { aggregateId, id, hooks: { afterRestart: stillMember } };
  },
  async check({ api, control }, _op, { aggregateId }) {
    expect((await api.aggregates.getAggregate({ id: aggregateId })).hosts).toEqual(["xs1"]);
    // The ejected host reboots as a standalone master and is free in the record.
    await eventually("xs2 standalone again", async () => {
      const h = await control.host("xs2");
      return h.toolstack === "up" && h.role === "master" && h.poolUuid !== simHost(await control.state(), "xs1").poolUuid && (await api.hosts.getHost({ name: "xs2" })).aggregateId === 0n;
    }, 20_000);
  },
};

const scenarios = [evacuation, join, eject];

const interruptions: Interruption[] = [
  controllerSignal("SIGTERM", { hosts: 2, timeScale, baseAddress: (i) => `127.0.5.${10 + 10 * i}` }),
  controllerSignal("SIGINT", { hosts: 2, timeScale, baseAddress: (i) => `127.0.5.${110 + 10 * i}` }),
  sandboxCtrlC({ hosts: 2, timeScale }),
];

for (const interruption of interruptions) {
  describe(interruption.name, () => {
    let product: InterruptibleProduct | undefined;
    afterEach(async () => {
      await product?.close();
      product = undefined;
    });

    for (const scenario of scenarios) {
      it(scenario.title, async () => {
        const p = (product = await interruption.start());
        const reached = await scenario.reach(p);
        const exit = await p.interrupt(reached.hooks);
        expect(exit.graceful, `${interruption.name}: a graceful stop, ended ${JSON.stringify(exit.status)}; output:\n${exit.output}`).toBe(true);
        const op = await p.waitOperation(reached.id);
        await expectResumedAndTruthful(p.api, p.control, op, exit);
        await scenario.check(p, op, reached);
        await expectRecordMatchesPool(p.api, p.control, reached.aggregateId);
      }, interruption.testTimeoutMs);
    }
  });
}
