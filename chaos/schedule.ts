/**
 * A schedule: a seeded random sequence of requests and faults at random moments. It is drawn from
 * the seed alone (replaying a seed replays the same requests, targets, faults and pauses); the
 * generator keeps a model of the membership the requests intend, so most requests make sense.
 * Only "the master of aggregate X" is resolved when the event runs. Rolling maintenance requests
 * come from a second stream of the same seed, inserted between the others without moving them,
 * so a seed drawn without them (schedules found before they existed) still gives its old schedule.
 */
import { Random } from "./random.js";

/** The aggregates every schedule starts with: the first holds the first three hosts, the second none. */
export const initialAggregates = [
  { name: "chaos-a", hosts: 3 },
  { name: "chaos-b", hosts: 0 },
] as const;

/** A host, or the current master of an aggregate (resolved when the fault fires). */
export type HostTarget = { host: string } | { masterOf: string };

/** A request to the product. */
export type RequestEvent =
  | { kind: "add-host"; aggregate: string; host: string }
  | { kind: "remove-host"; aggregate: string; host: string }
  | { kind: "start-maintenance"; host: string }
  | { kind: "stop-maintenance"; host: string; rebalance: boolean }
  | { kind: "set-enabled"; host: string; enabled: boolean }
  | { kind: "create-aggregate"; aggregate: string }
  | { kind: "cancel-latest" }
  /** One host to two aggregates at once: exactly one may win. */
  | { kind: "conflicting-adds"; host: string; aggregates: [string, string] }
  /** Two removals of one host at once: exactly one may win. */
  | { kind: "conflicting-removes"; aggregate: string; host: string }
  /** StartRollingMaintenance of every member; a PAUSE run is resumed by the harness `resumeAfterMs` after each pause, as an operator would. */
  | { kind: "rolling-maintenance"; aggregate: string; action: "PAUSE" | "REBOOT"; maxParallel: number; resumeAfterMs: number };

/** A fault. */
export type FaultEvent =
  | { kind: "controller-stop"; signal: "SIGKILL" | "SIGTERM"; downMs: number }
  | { kind: "agent-stop"; host: string; signal: "SIGKILL" | "SIGTERM"; downMs: number }
  | { kind: "power-cycle"; target: HostTarget; downMs: number }
  | { kind: "xapi-fault"; target: HostTarget; method: string; error?: string[]; midway?: boolean; hang?: boolean; delayMs?: number };

/** One event, `gapMs` after the previous one. */
export type ScheduleEvent = (RequestEvent | FaultEvent) & { gapMs: number };

/** A schedule. */
export interface Schedule {
  seed: number;
  hosts: string[];
  events: ScheduleEvent[];
}

/** What the generator produces. */
export interface ScheduleOptions {
  seed: number;
  hosts: number;
  /** Number of events (rolling maintenance requests come on top). */
  events: number;
  /** Insert rolling maintenance requests (default true; false replays schedules drawn before they existed). */
  rollingMaintenance?: boolean;
}

/**
 * After which events a rolling maintenance request comes (-1: before the first): in some schedules
 * one at the start, when every member is healthy as its pre-check wants (the faults then hit the
 * run; while it runs, the aggregate's other operations are refused, so not in most), and in some
 * one anywhere (mostly refused, rightly, by then).
 */
function rollingPositions(r: Random, events: number): Set<number> {
  const at = new Set<number>();
  if (r.chance(0.3)) at.add(-1);
  if (r.chance(0.2)) at.add(r.int(0, events - 1));
  return at;
}

/** The XenAPI calls the product makes that change a pool, with a failure XenServer could answer. */
const poolCalls: readonly { method: string; error: string[] }[] = [
  { method: "pool.join", error: ["JOINING_HOST_SERVICE_FAILED"] },
  { method: "pool.eject", error: ["INTERNAL_ERROR", "eject failed"] },
  { method: "pool.designate_new_master", error: ["INTERNAL_ERROR", "designate failed"] },
  { method: "VM.pool_migrate", error: ["VM_MIGRATE_FAILED", "", "", "", "migration failed"] },
  { method: "host.disable", error: ["INTERNAL_ERROR", "disable failed"] },
  { method: "host.enable", error: ["INTERNAL_ERROR", "enable failed"] },
  { method: "pool.set_name_label", error: ["INTERNAL_ERROR", "name failed"] },
  { method: "pool.recover_slaves", error: ["INTERNAL_ERROR", "recover failed"] },
  { method: "host.get_all_records", error: ["INTERNAL_ERROR", "read failed"] },
];

const requestWeights = {
  "add-host": 4,
  "remove-host": 3,
  "start-maintenance": 3,
  "stop-maintenance": 3,
  "set-enabled": 1,
  "create-aggregate": 0.5,
  "cancel-latest": 0.7,
  "conflicting-adds": 1,
  "conflicting-removes": 1,
} as const;

const faultWeights = {
  "controller-stop": 1.5,
  "agent-stop": 1.5,
  "power-cycle": 1.2,
  "xapi-error": 1,
  "xapi-midway": 1,
  "xapi-hang": 0.4,
  "xapi-slow": 0.6,
} as const;

/** The membership the requests so far intend. */
class IntendedModel {
  readonly members = new Map<string, string[]>();
  readonly free: string[];
  readonly inMaintenance = new Set<string>();
  /** Hosts whose fate a conflict left open: never chosen again. */
  readonly unsure = new Set<string>();

  constructor(hosts: string[]) {
    let next = 0;
    for (const agg of initialAggregates) this.members.set(agg.name, hosts.slice(next, (next += agg.hosts)));
    this.free = hosts.slice(next);
  }

  aggregates(): string[] {
    return [...this.members.keys()];
  }

  memberPairs(): { aggregate: string; host: string }[] {
    return [...this.members].flatMap(([aggregate, hosts]) => hosts.filter((h) => !this.unsure.has(h)).map((host) => ({ aggregate, host })));
  }

  take(host: string): void {
    const i = this.free.indexOf(host);
    if (i >= 0) this.free.splice(i, 1);
    for (const hosts of this.members.values()) {
      const j = hosts.indexOf(host);
      if (j >= 0) hosts.splice(j, 1);
    }
    this.inMaintenance.delete(host);
  }
}

function drawRequest(r: Random, model: IntendedModel): RequestEvent | undefined {
  const kind = r.weighted(requestWeights);
  const freeHosts = model.free.filter((h) => !model.unsure.has(h));
  switch (kind) {
    case "add-host": {
      if (freeHosts.length === 0) return undefined;
      const host = r.pick(freeHosts);
      const aggregate = r.pick(model.aggregates());
      model.take(host);
      model.members.get(aggregate)!.push(host);
      return { kind, aggregate, host };
    }
    case "remove-host": {
      const pairs = model.memberPairs().filter((p) => !model.inMaintenance.has(p.host));
      if (pairs.length === 0) return undefined;
      const { aggregate, host } = r.pick(pairs);
      model.take(host);
      model.free.push(host);
      return { kind, aggregate, host };
    }
    case "start-maintenance": {
      const pairs = model.memberPairs().filter((p) => !model.inMaintenance.has(p.host));
      if (pairs.length === 0) return undefined;
      const { host } = r.pick(pairs);
      model.inMaintenance.add(host);
      return { kind, host };
    }
    case "stop-maintenance": {
      const hosts = [...model.inMaintenance].filter((h) => !model.unsure.has(h));
      if (hosts.length === 0) return undefined;
      const host = r.pick(hosts);
      model.inMaintenance.delete(host);
      return { kind, host, rebalance: r.chance(0.7) };
    }
    case "set-enabled": {
      const pairs = model.memberPairs().filter((p) => !model.inMaintenance.has(p.host));
      if (pairs.length === 0) return undefined;
      return { kind, host: r.pick(pairs).host, enabled: r.chance(0.5) };
    }
    case "create-aggregate": {
      const aggregate = `chaos-${String.fromCharCode(97 + model.members.size)}`;
      model.members.set(aggregate, []);
      return { kind, aggregate };
    }
    case "cancel-latest":
      return { kind };
    case "conflicting-adds": {
      const aggregates = model.aggregates();
      if (freeHosts.length === 0 || aggregates.length < 2) return undefined;
      const host = r.pick(freeHosts);
      const first = r.pick(aggregates);
      const second = r.pick(aggregates.filter((a) => a !== first));
      model.unsure.add(host);
      return { kind, host, aggregates: [first, second] };
    }
    case "conflicting-removes": {
      const pairs = model.memberPairs().filter((p) => !model.inMaintenance.has(p.host));
      if (pairs.length === 0) return undefined;
      const { aggregate, host } = r.pick(pairs);
      model.unsure.add(host);
      return { kind, aggregate, host };
    }
  }
}

function drawTarget(r: Random, hosts: string[], model: IntendedModel): HostTarget {
  const withMaster = model.aggregates().filter((a) => model.members.get(a)!.length > 0);
  if (withMaster.length > 0 && r.chance(0.5)) return { masterOf: r.pick(withMaster) };
  return { host: r.pick(hosts) };
}

function drawFault(r: Random, hosts: string[], model: IntendedModel): FaultEvent {
  const kind = r.weighted(faultWeights);
  const signal = r.chance(0.5) ? "SIGKILL" : "SIGTERM";
  switch (kind) {
    case "controller-stop":
      return { kind, signal, downMs: r.int(0, 2000) };
    case "agent-stop":
      return { kind, host: r.pick(hosts), signal, downMs: r.int(0, 3000) };
    case "power-cycle":
      return { kind, target: drawTarget(r, hosts, model), downMs: r.int(300, 4000) };
    case "xapi-error": {
      const call = r.pick(poolCalls);
      return { kind: "xapi-fault", target: drawTarget(r, hosts, model), method: call.method, error: call.error };
    }
    case "xapi-midway": {
      const call = r.pick(poolCalls.slice(0, 6));
      return { kind: "xapi-fault", target: drawTarget(r, hosts, model), method: call.method, error: call.error, midway: true };
    }
    case "xapi-hang":
      return { kind: "xapi-fault", target: drawTarget(r, hosts, model), method: r.pick(poolCalls).method, hang: true };
    case "xapi-slow":
      return { kind: "xapi-fault", target: drawTarget(r, hosts, model), method: r.pick(poolCalls).method, delayMs: r.int(200, 3000) };
  }
}

/** A rolling maintenance of an aggregate the requests so far leave with two members or more, if any. */
function drawRolling(r: Random, model: IntendedModel): RequestEvent | undefined {
  const candidates = model.aggregates().filter((a) => model.members.get(a)!.length >= 2);
  if (candidates.length === 0) return undefined;
  return { kind: "rolling-maintenance", aggregate: r.pick(candidates), action: r.chance(0.5) ? "PAUSE" : "REBOOT", maxParallel: r.int(1, 2), resumeAfterMs: r.int(0, 1500) };
}

/** Draws a schedule from its seed. */
export function drawSchedule(options: ScheduleOptions): Schedule {
  const r = new Random(options.seed);
  // A stream of its own, so that the other events are the same with or without rolling maintenance.
  const rolling = options.rollingMaintenance === false ? undefined : new Random(options.seed ^ 0x5eed_7011);
  const rollingAfter = rolling ? rollingPositions(rolling, options.events) : new Set<number>();
  const hosts = Array.from({ length: options.hosts }, (_, i) => `xs${i + 1}`);
  const model = new IntendedModel(hosts);
  const events: ScheduleEvent[] = [];
  const insertRolling = (position: number) => {
    const extra = rolling && rollingAfter.has(position) ? drawRolling(rolling, model) : undefined;
    // At once after the event it follows, so the moments of the others stay where they were.
    if (extra) events.push({ ...extra, gapMs: 0 });
  };
  insertRolling(-1);
  let drawn = 0;
  while (drawn < options.events) {
    const gapMs = r.int(100, 1500);
    const event = r.chance(0.55) ? drawRequest(r, model) : drawFault(r, hosts, model);
    if (!event) continue;
    events.push({ ...event, gapMs });
    insertRolling(drawn);
    drawn += 1;
  }
  return { seed: options.seed, hosts, events };
}

/** One line per event, for the log of a schedule and for regression tests. */
export function describeEvent(e: ScheduleEvent): string {
  const target = (t: HostTarget) => ("host" in t ? t.host : `master(${t.masterOf})`);
  switch (e.kind) {
    case "add-host":
    case "remove-host":
      return `${e.kind} ${e.host} ${e.aggregate}`;
    case "start-maintenance":
      return `${e.kind} ${e.host}`;
    case "stop-maintenance":
      return `${e.kind} ${e.host}${e.rebalance ? " --rebalance" : ""}`;
    case "set-enabled":
      return `${e.kind} ${e.host} ${e.enabled}`;
    case "create-aggregate":
      return `${e.kind} ${e.aggregate}`;
    case "cancel-latest":
      return e.kind;
    case "conflicting-adds":
      return `${e.kind} ${e.host} ${e.aggregates.join(" ")}`;
    case "conflicting-removes":
      return `${e.kind} ${e.host} ${e.aggregate}`;
    case "rolling-maintenance":
      return `${e.kind} ${e.aggregate} ${e.action} max-parallel ${e.maxParallel}${e.action === "PAUSE" ? ` resume after ${e.resumeAfterMs} ms` : ""}`;
    case "controller-stop":
      return `${e.kind} ${e.signal} for ${e.downMs} ms`;
    case "agent-stop":
      return `${e.kind} ${e.host} ${e.signal} for ${e.downMs} ms`;
    case "power-cycle":
      return `${e.kind} ${target(e.target)} off for ${e.downMs} ms`;
    case "xapi-fault": {
      const how = e.hang ? "hang" : e.delayMs !== undefined ? `slow ${e.delayMs} ms` : `${e.midway ? "midway " : ""}${e.error?.[0]}`;
      return `${e.kind} ${target(e.target)} ${e.method} ${how}`;
    }
  }
}

/** Whether an event is a fault (as opposed to a request). */
export function isFault(e: ScheduleEvent): e is FaultEvent & { gapMs: number } {
  return e.kind === "controller-stop" || e.kind === "agent-stop" || e.kind === "power-cycle" || e.kind === "xapi-fault";
}
