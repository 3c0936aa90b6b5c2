/**
 * Periodically compares each aggregate's record with its pool master's view and reports drift
 * on the aggregate and in the event stream, and marks hosts whose heartbeats stopped. When no
 * operation runs on the aggregate it corrects a member's enabled flag in XenServer to the
 * record's (enabled-drift.ts) and repoints a member that follows another master at the recorded
 * one (stale-followers.ts), and makes a host in no aggregate that runs a pool with hosts that
 * left it standalone again (strays.ts). It never ejects or joins a host. It acts on an aggregate
 * only under its lease (on the replica that holds or takes it), and on hosts in no aggregate, or
 * silent ones, under the fleet lease: one replica acts on each.
 */
import { PeriodicPass, slicesOfAggregatesWithHosts } from "./periodic-pass.js";
import type { ControllerContext } from "../context.js";
import { underLease } from "../leases/leased-context.js";
import { fleetLeaseId } from "../leases/lease-ids.js";
import { silent } from "../model/lifecycle.js";
import { nowIso, type AggregateRecord, type HostRecord } from "../model/records.js";
import { memberOf, readPool } from "../pool/pool-view.js";
import { correctEnabledDrift, enabledDrifts, type EnabledDrift } from "./enabled-drift.js";
import { repointFollower, staleFollowers, type StaleFollower } from "./stale-followers.js";
import { makeStraysStandalone } from "./strays.js";

/** Settings of the reconciler. */
export interface ReconcilerSettings {
  /** How often to compare (0 disables the timer; tick() can still be called). */
  intervalMs: number;
  /** Heartbeat interval told to agents; a host silent for 3 of them is UNREACHABLE. */
  heartbeatIntervalMs: number;
}

/** What a comparison found: drift to report, enabled flags to correct, members to repoint. */
export interface Inspection {
  drift: string[];
  enabled: EnabledDrift[];
  followers: StaleFollower[];
  /** A recorded member the pool has as its master while the record names another (e.g. a hand-over whose reply was an error). */
  masterMoved?: HostRecord;
}

/** The drift between a record and its pool. */
export async function driftOf(ctx: ControllerContext, aggregate: AggregateRecord, signal: AbortSignal): Promise<Inspection> {
  const recorded = await ctx.store.hosts.members(aggregate.id);
  const hosts = recorded.filter((h) => h.membership === "MEMBER");
  const askable = [aggregate.masterHost, ...hosts.map((h) => h.name)].filter((n, i, all): n is string => !!n && all.indexOf(n) === i);
  const { pool } = await readPool({ ctx, agents: ctx.agents, signal, remainingMs: () => 15_000 }, askable);
  const drift: string[] = [];
  for (const h of hosts) if (!memberOf(pool, h.uuid)) drift.push(`host ${h.name} is recorded as a member but is not in the pool`);
  for (const m of pool.members) {
    if (!recorded.some((h) => h.uuid === m.uuid)) drift.push(`pool member ${m.name} (${m.uuid}) is not a host of this aggregate`);
  }
  const master = pool.members.find((m) => m.master);
  const recordedMaster = hosts.find((h) => h.name === aggregate.masterHost);
  const movedTo = master && recordedMaster && recordedMaster.uuid !== master.uuid ? hosts.find((h) => h.uuid === master.uuid) : undefined;
  if (master && recordedMaster && recordedMaster.uuid !== master.uuid && !movedTo) drift.push(`the pool master is ${master.name} but the record says ${aggregate.masterHost}`);
  if (pool.name !== aggregate.name) drift.push(`the pool is named "${pool.name}", not "${aggregate.name}"`);
  return { drift, enabled: enabledDrifts(recorded, pool), followers: staleFollowers(ctx, aggregate, recorded, pool), masterMoved: movedTo };
}

/** The periodic reconciler. */
export class Reconciler {
  private readonly stop = new AbortController();
  private readonly periodic: PeriodicPass;
  /** What was last reported about each host in no aggregate that is not standalone. */
  private readonly strays = new Map<string, string>();

  constructor(
    private readonly ctx: ControllerContext,
    private readonly settings: ReconcilerSettings,
  ) {
    this.periodic = new PeriodicPass("reconciler", settings.intervalMs, () => this.pass(), ctx.log, () => this.stop.signal.aborted);
  }

  /** Starts the timer. */
  start(): void {
    this.periodic.start();
  }

  /** One pass over hosts and aggregates (overlapping calls share the pass). */
  tick(): Promise<void> {
    return this.periodic.tick();
  }

  private async pass(): Promise<void> {
    await underLease(this.ctx, fleetLeaseId, (ctx) => this.markSilentHosts(ctx));
    for await (const slice of slicesOfAggregatesWithHosts(this.ctx.store.aggregates)) {
      for (const aggregate of slice) {
        if (this.stop.signal.aborted) return;
        if (aggregate.poolState !== "ACTIVE" || aggregate.members.length === 0) continue;
        await underLease(this.ctx, aggregate.id, (ctx) => this.reconcile(ctx, aggregate));
      }
    }
    if (this.stop.signal.aborted) return;
    await underLease(this.ctx, fleetLeaseId, (ctx) => makeStraysStandalone(ctx, this.strays, this.stop.signal));
  }

  /** Compares one aggregate with its pool and corrects what it may (ctx: under the aggregate's lease). */
  private async reconcile(ctx: ControllerContext, aggregate: AggregateRecord): Promise<void> {
    const { store } = ctx;
    let found: Inspection;
    try {
      found = await driftOf(ctx, aggregate, this.stop.signal);
    } catch (err) {
      if (this.stop.signal.aborted) return; // shutting down: not drift
      found = { drift: [`cannot read the pool: ${err instanceof Error ? err.message : String(err)}`], enabled: [], followers: [] };
    }
    const current = await store.aggregates.get(aggregate.id);
    if (!current || current.poolState !== "ACTIVE") return; // an operation started meanwhile
    if (found.masterMoved && current.masterHost === aggregate.masterHost) await this.adoptMaster(ctx, current, found.masterMoved);
    const drift = [...found.drift, ...(await this.repoint(ctx, current, found.followers)), ...(await this.correct(ctx, current, found.enabled))];
    if (this.stop.signal.aborted) return;
    const changed = JSON.stringify(drift) !== JSON.stringify(current.drift);
    await store.transaction(async () => {
      await store.aggregates.updatePool(aggregate.id, { drift, checkedAt: nowIso() }, current.updatedAt);
      if (changed) {
        await store.events.append({
          kind: drift.length ? "pool.drift" : "pool.drift-resolved",
          aggregateId: aggregate.id,
          message: drift.length ? `aggregate ${aggregate.id} drifted from its pool: ${drift.join("; ")}` : `aggregate ${aggregate.id} matches its pool again`,
        });
      }
    });
  }

  /**
   * The pool's master is another member than the record says (no operation runs): the master role is
   * XenServer's fact, so the record follows it — e.g. a hand-over whose pool.designate_new_master
   * answered an error after the pool had taken the new master.
   */
  private async adoptMaster(ctx: ControllerContext, aggregate: AggregateRecord, master: HostRecord): Promise<void> {
    const { store } = ctx;
    await store.transaction(async () => {
      await store.aggregates.updatePool(aggregate.id, { masterHost: master.name }, nowIso());
      await store.events.append({
        kind: "pool.master-changed",
        aggregateId: aggregate.id,
        host: master.name,
        message: `the pool's master is ${master.name}, not ${aggregate.masterHost ?? "none"} as recorded: the record follows the pool`,
      });
    });
  }

  /** Repoints members that follow another master (still members of this aggregate); returns what is left as drift. */
  private async repoint(ctx: ControllerContext, aggregate: AggregateRecord, followers: StaleFollower[]): Promise<string[]> {
    const left: string[] = [];
    for (const f of followers) {
      const now = await ctx.store.hosts.get(f.host.name);
      if (!now || now.aggregateId !== aggregate.id || now.membership !== "MEMBER" || this.stop.signal.aborted) continue;
      const failed = await repointFollower(ctx, aggregate, f, this.stop.signal);
      if (failed) left.push(failed);
    }
    return left;
  }

  /** Corrects enabled flags whose host record has not changed since the comparison; returns what is left as drift. */
  private async correct(ctx: ControllerContext, aggregate: AggregateRecord, drifts: EnabledDrift[]): Promise<string[]> {
    const left: string[] = [];
    for (const d of drifts) {
      const now = await ctx.store.hosts.get(d.host.name);
      const unchanged = now && now.aggregateId === aggregate.id && now.membership === d.host.membership && now.enabled === d.host.enabled && now.maintenance === d.host.maintenance;
      if (!unchanged || this.stop.signal.aborted) continue;
      const failed = await correctEnabledDrift(ctx, aggregate, d, this.stop.signal);
      if (failed) left.push(failed);
    }
    return left;
  }

  /** Hosts silent for three heartbeat intervals become UNREACHABLE (ctx: under the fleet lease). */
  private async markSilentHosts(ctx: ControllerContext): Promise<void> {
    const { store } = ctx;
    const cutoff = new Date(Date.now() - 3 * this.settings.heartbeatIntervalMs).toISOString();
    for (const name of await store.hosts.silentSince(cutoff)) {
      await store.transaction(async () => {
        await store.hosts.apply(name, silent());
        await store.events.append({ kind: "host.unreachable", host: name, message: `host ${name} stopped heartbeating` });
      });
    }
  }

  /** Stops the timer and waits for a running pass. */
  async close(): Promise<void> {
    this.stop.abort();
    await this.periodic.stop();
  }
}
