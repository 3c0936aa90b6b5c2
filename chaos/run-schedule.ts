/**
 * Runs one schedule against a fresh cluster: sets up the starting aggregates and guests, fires the
 * events at their moments (requests and faults overlap; each daemon's stops and starts are
 * serialized), watches the guests throughout, then heals every fault, lets the system settle
 * (repairing aggregates in ERROR, as an operator would) and checks the invariants.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { OperationKind, OperationState, RollingAction, RollingHostState, type Operation } from "../gen/hostaggregates/v1/operation_pb.js";
import { MembershipState, PoolState } from "../gen/hostaggregates/v1/aggregate_pb.js";
import { MaintenanceState } from "../gen/hostaggregates/v1/host_pb.js";
import { Cluster, type ClusterOptions } from "./cluster.js";
import { checkAll, type ControllerRecord, type ConflictOutcome, type RunObservations, type Violation } from "./invariants.js";
import { readRealHosts } from "./real-pool.js";
import { describeEvent, initialAggregates, isFault, type FaultEvent, type HostTarget, type RequestEvent, type Schedule } from "./schedule.js";

/** What one schedule did and found. */
export interface ScheduleResult {
  seed: number;
  requests: number;
  operations: number;
  faults: number;
  violations: Violation[];
  /** Wall-clock milliseconds, setup to check. */
  elapsedMs: number;
  /** One line per event, as it ran. */
  log: string[];
  /** The end of what the controller printed (warnings and errors), when a promise broke. */
  controllerLog?: string;
  /** The controller's last events (oldest first, one a line), when a promise broke. */
  events?: string;
}

/** Settings of a run. */
export interface RunOptions extends Omit<ClusterOptions, "hosts"> {
  /** Running guests per host of the first aggregate. */
  vmsPerHost: number;
  /** How long the system may take to settle once the faults are healed. */
  settleTimeoutMs: number;
  /** Called after the last event, before the system is healed and checked (tests use it to break a promise on purpose). */
  afterEvents?: (cluster: Cluster) => Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const terminal = new Set([OperationState.SUCCEEDED, OperationState.FAILED, OperationState.CANCELLED]);
const reason = (err: unknown) => (err instanceof ConnectError ? `${err.code}: ${err.rawMessage}` : err instanceof Error ? err.message : String(err));

/** Runs one schedule and returns what it found. */
export async function runSchedule(schedule: Schedule, options: RunOptions): Promise<ScheduleResult> {
  const started = Date.now();
  const cluster = await Cluster.start({ ...options, hosts: schedule.hosts.length });
  const run = new ScheduleRun(cluster, schedule, options);
  try {
    await run.setUp();
    await run.fire();
    await options.afterEvents?.(cluster);
    const violations = await run.settleAndCheck();
    const controllerLog = violations.length > 0 ? cluster.controllerOutput().slice(-6000) : undefined;
    const events = violations.length > 0 ? await run.lastEvents(150) : undefined;
    return { seed: schedule.seed, requests: run.requests, operations: run.operationIds.size, faults: run.faults, violations, elapsedMs: Date.now() - started, log: run.log, controllerLog, events };
  } finally {
    await cluster.close();
  }
}

/** One schedule in progress. */
class ScheduleRun {
  readonly log: string[] = [];
  readonly operationIds = new Set<string>();
  requests = 0;
  faults = 0;
  private readonly aggregateIds = new Map<string, bigint>();
  private readonly conflicts: { what: string; ops: (string | undefined)[] }[] = [];
  private readonly failedHosts = new Set<string>();
  private readonly halts: RunObservations["halts"] = [];
  private readonly initialVms = new Map<string, string>();
  private readonly inFlight: Promise<void>[] = [];
  /** Serializes the stops and starts of each daemon (and power of each host). */
  private readonly locks = new Map<string, Promise<void>>();
  private latestOperation?: string;
  private sampling = true;
  /** Accepted PAUSE runs: how long the "operator" waits before resuming each pause, and since when it is paused. */
  private readonly pauseRuns = new Map<string, { resumeAfterMs: number; pausedSince?: number }>();

  constructor(
    private readonly cluster: Cluster,
    private readonly schedule: Schedule,
    private readonly options: RunOptions,
  ) {}

  private get api() {
    return this.cluster.api;
  }

  private note(line: string): void {
    this.log.push(`${((Date.now() - this.t0) / 1000).toFixed(2).padStart(6)}s ${line}`);
  }

  private t0 = Date.now();

  /** The starting aggregates (the first founded with its hosts) and running guests on the first one's hosts. */
  async setUp(): Promise<void> {
    let next = 0;
    for (const agg of initialAggregates) {
      const { id } = await this.api.aggregates.createAggregate({ name: agg.name });
      this.aggregateIds.set(agg.name, id);
      for (const host of this.schedule.hosts.slice(next, (next += agg.hosts))) {
        const op = await this.api.aggregates.addHost({ aggregateId: id, host });
        const done = await this.waitOperation(op.id, 60_000);
        if (done.state !== OperationState.SUCCEEDED) throw new Error(`set-up: AddHost ${host} ended ${OperationState[done.state]}: ${done.error?.message}`);
      }
    }
    const first = this.schedule.hosts.slice(0, initialAggregates[0].hosts);
    for (const host of first) {
      for (const vm of await this.cluster.sim.control.addVms(host, { count: this.options.vmsPerHost, memoryMiB: 1024, namePrefix: `${host}-g` })) {
        this.initialVms.set(vm.uuid, vm.name);
      }
    }
    this.t0 = Date.now();
  }

  /** Fires every event at its moment while the guests are watched. */
  async fire(): Promise<void> {
    const watching = Promise.all([this.watchGuests(), this.resumePauses()]);
    for (const event of this.schedule.events) {
      await sleep(event.gapMs);
      this.note(describeEvent(event));
      const task = isFault(event) ? this.fault(event) : this.request(event);
      this.inFlight.push(task.catch((err: unknown) => this.note(`  ${describeEvent(event)}: harness error ${reason(err)}`)));
    }
    await Promise.all(this.inFlight);
    this.sampling = false;
    await watching;
  }

  /** Samples the simulator's VMs: records hosts each guest was seen on, hosts seen powered off, and guests that stopped running. */
  private async watchGuests(): Promise<void> {
    const seenOn = new Map<string, Set<string>>();
    const wasRunning = new Set<string>(this.initialVms.keys());
    while (this.sampling) {
      try {
        const state = await this.cluster.sim.control.state();
        for (const h of state.hosts) if (h.power === "off") this.failedHosts.add(h.name);
        for (const vm of state.vms) {
          if (!this.initialVms.has(vm.uuid)) continue;
          const hosts = seenOn.get(vm.uuid) ?? seenOn.set(vm.uuid, new Set()).get(vm.uuid)!;
          if (vm.residentOn) hosts.add(vm.residentOn);
          if (vm.migratingTo) hosts.add(vm.migratingTo);
          if (vm.powerState === "Running") wasRunning.add(vm.uuid);
          else if (wasRunning.delete(vm.uuid)) this.halts.push({ vm: vm.uuid, hosts: [...hosts] });
        }
      } catch {
        // the control API answers again at the next sample
      }
      await sleep(250);
    }
  }

  /** As an operator of a PAUSE rolling maintenance: resumes each pause once it has lasted the run's resumeAfterMs (every 250 ms while the events run). */
  private async resumePauses(): Promise<void> {
    while (this.sampling) {
      await this.resumePaused(false);
      await sleep(250);
    }
  }

  /** Resumes the paused PAUSE runs whose pause lasted long enough (all of them at once when `now`). */
  private async resumePaused(now: boolean): Promise<void> {
    for (const [id, run] of this.pauseRuns) {
      const op = await this.api.operations.getOperation({ id }).catch(() => undefined);
      if (!op) continue;
      if (terminal.has(op.state)) {
        this.pauseRuns.delete(id);
        continue;
      }
      if (!op.rolling?.paused) {
        run.pausedSince = undefined;
        continue;
      }
      run.pausedSince ??= Date.now();
      if (!now && Date.now() - run.pausedSince < run.resumeAfterMs) continue;
      run.pausedSince = undefined;
      await this.api.operations.resumeOperation({ id }).then(
        () => this.note(`  ResumeOperation ${id} (${op.rolling?.currentHost}): sent`),
        (err: unknown) => this.note(`  ResumeOperation ${id}: refused ${reason(err)}`),
      );
    }
  }

  private locked(key: string, work: () => Promise<void>): Promise<void> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    const next = previous.then(work, work);
    this.locks.set(key, next.catch(() => undefined));
    return next;
  }

  /** The aggregate id of a schedule's aggregate name (created on the way when needed). */
  private aggregateId(name: string): bigint {
    return this.aggregateIds.get(name) ?? 0n;
  }

  private track(op: Operation): string {
    this.operationIds.add(op.id);
    this.latestOperation = op.id;
    return op.id;
  }

  /** Sends a request; returns the operation id when one was accepted. */
  private async accept(what: string, send: () => Promise<Operation>): Promise<string | undefined> {
    this.requests += 1;
    try {
      const id = this.track(await this.retried(send));
      this.note(`  ${what}: accepted ${id}`);
      return id;
    } catch (err) {
      this.note(`  ${what}: refused ${reason(err)}`);
      return undefined;
    }
  }

  private async request(e: RequestEvent): Promise<void> {
    const aggregates = this.api.aggregates;
    switch (e.kind) {
      case "add-host":
        await this.accept(`AddHost ${e.host}`, () => aggregates.addHost({ aggregateId: this.aggregateId(e.aggregate), host: e.host }));
        return;
      case "remove-host":
        await this.removeHost(e.aggregate, e.host);
        return;
      case "start-maintenance":
        await this.accept(`StartMaintenance ${e.host}`, () => this.api.hosts.startMaintenance({ host: e.host }));
        return;
      case "stop-maintenance":
        await this.accept(`StopMaintenance ${e.host}`, () => this.api.hosts.stopMaintenance({ host: e.host, rebalance: e.rebalance }));
        return;
      case "set-enabled":
        this.requests += 1;
        await this.retried(() => this.api.hosts.setHostEnabled({ name: e.host, enabled: e.enabled })).then(
          () => this.note(`  SetHostEnabled ${e.host} ${e.enabled}: done`),
          (err: unknown) => this.note(`  SetHostEnabled ${e.host} ${e.enabled}: refused ${reason(err)}`),
        );
        return;
      case "create-aggregate": {
        this.requests += 1;
        try {
          const { id } = await aggregates.createAggregate({ name: e.aggregate });
          this.aggregateIds.set(e.aggregate, id);
        } catch (err) {
          this.note(`  CreateAggregate: refused ${reason(err)}`);
        }
        return;
      }
      case "cancel-latest": {
        const id = this.latestOperation;
        if (!id) return;
        this.requests += 1;
        await this.api.operations.cancelOperation({ id }).then(
          () => this.note(`  CancelOperation ${id}: sent`),
          (err: unknown) => this.note(`  CancelOperation ${id}: refused ${reason(err)}`),
        );
        return;
      }
      case "conflicting-adds": {
        const ops = await Promise.all(e.aggregates.map((a) => this.accept(`AddHost ${e.host} to ${a}`, () => aggregates.addHost({ aggregateId: this.aggregateId(a), host: e.host }))));
        this.conflicts.push({ what: `AddHost ${e.host} to ${e.aggregates.join(" and ")}`, ops });
        return;
      }
      case "rolling-maintenance": {
        const action = e.action === "PAUSE" ? RollingAction.PAUSE : RollingAction.REBOOT;
        const id = await this.accept(`StartRollingMaintenance ${e.aggregate} ${e.action}`, () =>
          this.afterBusy(() => aggregates.startRollingMaintenance({ aggregateId: this.aggregateId(e.aggregate), action, maxParallel: e.maxParallel })),
        );
        if (id && e.action === "PAUSE") this.pauseRuns.set(id, { resumeAfterMs: e.resumeAfterMs });
        return;
      }
      case "conflicting-removes": {
        if (!(await this.readyToRemove(e.host))) return;
        const send = () => aggregates.removeHost({ aggregateId: this.aggregateId(e.aggregate), host: e.host });
        const ops = await Promise.all([this.accept(`RemoveHost ${e.host} (1)`, send), this.accept(`RemoveHost ${e.host} (2)`, send)]);
        this.conflicts.push({ what: `two RemoveHost of ${e.host}`, ops });
        return;
      }
    }
  }

  /** As a client does: while the controller itself is down (restarting), try again for a few seconds. */
  private async retried<T>(send: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await send();
      } catch (err) {
        // The connection to the controller failed (not an agent behind it): it is restarting.
        const controllerDown = err instanceof ConnectError && /^(connect |read )?(ECONNREFUSED|ECONNRESET)|socket hang up/.test(err.rawMessage) && !err.rawMessage.includes("agent");
        if (!controllerDown || attempt >= 60) throw err;
        await sleep(250);
      }
    }
  }

  /** As an operator told "wait for it": while the aggregate runs another operation, try again for up to 10 s. */
  private async afterBusy<T>(send: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        return await send();
      } catch (err) {
        const busy = err instanceof ConnectError && err.code === Code.FailedPrecondition && /is still running on aggregate/.test(err.rawMessage);
        if (!busy || Date.now() > deadline) throw err;
        await sleep(300);
      }
    }
  }

  private async disable(host: string): Promise<void> {
    await this.retried(() => this.api.hosts.setHostEnabled({ name: host, enabled: false })).catch((err: unknown) => this.note(`  SetHostEnabled ${host} false: ${reason(err)}`));
  }

  /** As an operator prepares a removal: disable the host; if it still runs guests, evacuate it (maintenance) first. */
  private async readyToRemove(host: string): Promise<boolean> {
    await this.disable(host);
    const record = await this.retried(() => this.api.hosts.getHost({ name: host })).catch(() => undefined);
    if (!record?.vms.some((vm) => vm.powerState === "Running")) return true;
    const evacuation = await this.accept(`StartMaintenance ${host} (to remove it)`, () => this.api.hosts.startMaintenance({ host }));
    if (!evacuation) return false;
    const done = await this.waitOperation(evacuation, 30_000).catch(() => undefined);
    return done?.state === OperationState.SUCCEEDED;
  }

  /** Disable, evacuate if needed, RemoveHost. */
  private async removeHost(aggregate: string, host: string): Promise<void> {
    if (!(await this.readyToRemove(host))) return;
    await this.accept(`RemoveHost ${host}`, () => this.api.aggregates.removeHost({ aggregateId: this.aggregateId(aggregate), host }));
  }

  private async hostOf(target: HostTarget): Promise<string | undefined> {
    if ("host" in target) return target.host;
    const id = this.aggregateId(target.masterOf);
    if (id === 0n) return undefined;
    const agg = await this.api.aggregates.getAggregate({ id }).catch(() => undefined);
    return agg?.pool?.masterHost || undefined;
  }

  private async fault(e: FaultEvent): Promise<void> {
    this.faults += 1;
    switch (e.kind) {
      case "controller-stop":
        await this.locked("controller", async () => {
          await this.cluster.stopController(e.signal);
          await sleep(e.downMs);
          await this.cluster.startController();
        });
        return;
      case "agent-stop":
        await this.locked(`agent ${e.host}`, async () => {
          await this.cluster.stopAgent(e.host, e.signal);
          await sleep(e.downMs);
          await this.cluster.startAgent(e.host);
        });
        return;
      case "power-cycle": {
        const host = await this.hostOf(e.target);
        if (!host) return;
        this.note(`  power-cycle ${host}`);
        this.failedHosts.add(host);
        await this.locked(`power ${host}`, async () => {
          await this.cluster.sim.control.power(host, false);
          await sleep(e.downMs);
          await this.cluster.sim.control.power(host, true);
        });
        return;
      }
      case "xapi-fault": {
        const host = await this.hostOf(e.target);
        if (!host) return;
        const spec = { method: e.method, error: e.error, midway: e.midway, hang: e.hang, delayMs: e.delayMs === undefined ? undefined : e.delayMs / this.options.timeScale };
        await this.cluster.sim.control.setFault(host, spec).catch((err: unknown) => this.note(`  fault on ${host}: ${reason(err)}`));
        return;
      }
    }
  }

  private async waitOperation(id: string, timeoutMs: number): Promise<Operation> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const op = await this.api.operations.waitOperation({ id, timeout: { seconds: 2n, nanos: 0 } });
        if (terminal.has(op.state)) return op;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await sleep(100);
      }
      if (Date.now() > deadline) throw new Error(`operation ${id} did not end within ${timeoutMs} ms`);
    }
  }

  /** Heals every fault, waits for the system to settle, repairs ERROR, and checks the invariants until they hold or time runs out. */
  async settleAndCheck(): Promise<Violation[]> {
    const { sim } = this.cluster;
    this.note("settle: faults cleared, hosts powered on, daemons started");
    for (const host of this.schedule.hosts) {
      await sim.control.clearFaults(host);
      if ((await sim.control.host(host)).power === "off") await sim.control.power(host, true);
    }
    await this.cluster.startController();
    await Promise.all(this.schedule.hosts.map((host) => this.cluster.startAgent(host)));
    const deadline = Date.now() + this.options.settleTimeoutMs;
    await this.cluster.waitRegistered(Math.max(1000, deadline - Date.now()));
    let violations: Violation[] = [];
    let repairs = 0;
    let last: ControllerRecord | undefined;
    // Checked at least once, then again until the invariants hold or the time is up.
    for (let first = true; first || Date.now() < deadline; first = false) {
      const record = await this.readRecord().catch(() => undefined);
      last = record ?? last;
      if (!record) {
        violations = [{ invariant: "the controller answers", detail: "ListAggregates/ListHosts/ListOperations failed" }];
        await sleep(500);
        continue;
      }
      await this.resumePaused(true);
      for (const a of record.aggregates.filter((x) => x.state === "ERROR")) {
        repairs += 1;
        await this.api.aggregates.repairAggregate({ id: a.id }).then(
          () => this.note(`settle: RepairAggregate ${a.name}`),
          (err: unknown) => this.note(`settle: RepairAggregate ${a.name}: ${reason(err)}`),
        );
      }
      const real = await readRealHosts(this.cluster.sim.hosts, "root", this.cluster.xapiPassword);
      violations = checkAll(record, real, this.observations());
      if (violations.length === 0 || Date.now() >= deadline) break;
      await sleep(1000);
    }
    for (const op of last?.operations.filter((o) => o.kind === "ROLLING_MAINTENANCE") ?? []) {
      this.note(`settle: rolling maintenance ${op.id} ${op.state} (${op.rollingHosts?.map((h) => `${h.host} ${h.state}`).join(", ")})`);
    }
    this.note(`settle: ${violations.length} violation(s) after ${repairs} repair request(s)`);
    return violations;
  }

  /** The controller's last `count` events, oldest first, one a line (empty when it does not answer). */
  async lastEvents(count: number): Promise<string> {
    const { events } = await this.api.events.listEvents({ pageSize: count }).catch(() => ({ events: [] }));
    return events
      .reverse()
      .map((e) => `${e.time ? new Date(Number(e.time.seconds) * 1000 + e.time.nanos / 1e6).toISOString().slice(11, 23) : ""} ${e.kind} ${e.host} ${e.operationId}: ${e.message}`)
      .join("\n");
  }

  private observations(): RunObservations {
    return {
      initialVms: this.initialVms,
      failedHosts: this.failedHosts,
      halts: this.halts,
      conflicts: this.conflictOutcomes(),
      deaths: this.cluster.deaths.map((d) => `${d.daemon} exited (code ${d.status.code}, signal ${d.status.signal}): ${d.tail.split("\n").slice(-5).join(" | ")}`),
    };
  }

  private conflictOutcomes(): ConflictOutcome[] {
    return this.conflicts.map((c) => ({
      what: c.what,
      accepted: c.ops.filter((id) => id !== undefined).length,
      succeeded: c.ops.filter((id) => id !== undefined && this.states.get(id) === OperationState.SUCCEEDED).length,
    }));
  }

  private readonly states = new Map<string, OperationState>();

  private async readRecord(): Promise<ControllerRecord> {
    const [{ aggregates }, { hosts }, { operations }] = await Promise.all([
      this.api.aggregates.listAggregates({ pageSize: 1000 }),
      this.api.hosts.listHosts({ pageSize: 1000 }),
      this.api.operations.listOperations({ pageSize: 1000 }),
    ]);
    for (const op of operations) this.states.set(op.id, op.state);
    return {
      aggregates: aggregates.map((a) => ({
        id: a.id,
        name: a.name,
        state: PoolState[a.pool?.state ?? PoolState.UNSPECIFIED],
        master: a.pool?.masterHost ?? "",
        hosts: a.members.map((m) => m.host),
        lastError: a.pool?.lastError?.message ?? "",
        drift: a.pool?.drift ?? [],
      })),
      hostAggregate: new Map(hosts.map((h) => [h.name, h.aggregateId])),
      hostStates: new Map(hosts.map((h) => [h.name, { enabled: h.enabled, maintenance: MaintenanceState[h.maintenance], membership: MembershipState[h.membership] }])),
      operations: operations.map((op) => ({
        id: op.id,
        kind: OperationKind[op.kind],
        state: OperationState[op.state],
        target: op.target,
        rollingHosts: op.rolling?.hosts.map((h) => ({ host: h.host, state: RollingHostState[h.state] })),
      })),
    };
  }
}
