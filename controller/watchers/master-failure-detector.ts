/**
 * The master-failure detector: on its own timer, for every aggregate with a pool master (read in
 * slices of the aggregates that have hosts, see periodic-pass.ts), it
 * watches the master's heartbeats; when they say the master is down it asks the master's agent,
 * and once the master has stayed unreachable for the failure threshold it asks the surviving
 * members' agents (see master-assessment.ts for the rule). A confirmed failure starts a
 * RECOVER_MASTER operation, unless the aggregate's metadata says `auto_recover_master=false`:
 * then the aggregate goes to ERROR with the condition and an event, and an operator runs
 * `aggctl aggregate-recover-master`. While the master is healthy it fences returning former
 * masters (fencing.ts) and drops lost VMs that run again. It also listens to the agents' reports:
 * a registration, or a heartbeat whose pool facts changed, of a host of an aggregate runs that
 * aggregate's fencing at once instead of at the next pass. Checks of one aggregate (pass or report)
 * run one at a time, and only on the replica that holds (or takes) the aggregate's lease: its
 * probes, fencing and writes go through the leased context (leases/leased-context.ts).
 */
import { setMaxListeners } from "node:events";
import { HostRole } from "../../gen/hostaggregates/agent/v1/pool_agent_pb.js";
import type { HostReportListener, IntakeContext } from "../context.js";
import { recoverMaster } from "../intake/recover-master.js";
import { errorWhenMasterAnswers, isMasterFailureError, masterFailureCondition } from "../model/lifecycle.js";
import { nowIso, type AggregateRecord, type HostRecord, type OperationRecord, type PoolFactsRecord } from "../model/records.js";
import { isHandingOverMaster } from "../operations/index.js";
import {
  askMembers,
  describeEvidence,
  heartbeatEvidence,
  probeMaster,
  survivingMembers,
  verdictOf,
  type MasterProbe,
  type MemberReport,
} from "../pool/master-assessment.js";
import { fence, fencingCandidates, type FencingCandidate, type FencingContext } from "./fencing.js";
import { underLease } from "../leases/leased-context.js";
import { KeyedQueue } from "./keyed-queue.js";
import { pruneLostVms } from "./lost-vms.js";
import { PeriodicPass, slicesOfAggregatesWithHosts } from "./periodic-pass.js";
import { ReportTrigger } from "./report-trigger.js";

/** Metadata key that turns automatic recovery off ("false", "0", "no", "off"). */
export const autoRecoverKey = "auto_recover_master";

/** Settings of the detector. */
export interface MasterFailureSettings {
  /** How often to check (0 disables the timer; tick() can still be called). */
  intervalMs: number;
  /** How long the master must stay unreachable before the members are asked and it is declared failed. */
  failureThresholdMs: number;
  /** Deadline of one GetHostInfo probe. */
  probeTimeoutMs: number;
  /** Deadline of one repointing of a returning host (EmergencyResetMaster waits for a toolstack restart). */
  fenceTimeoutMs: number;
  /** How often an aggregate's lost VMs are re-read to drop those that run again (one VM list per aggregate). */
  lostVmCheckIntervalMs: number;
}

/** Defaults derived from the heartbeat interval: check every interval, declare failure after six. */
export function masterFailureSettings(heartbeatIntervalMs: number, overrides: Partial<MasterFailureSettings> = {}): MasterFailureSettings {
  const intervalMs = overrides.intervalMs ?? heartbeatIntervalMs;
  return {
    intervalMs,
    failureThresholdMs: overrides.failureThresholdMs ?? 6 * heartbeatIntervalMs,
    probeTimeoutMs: overrides.probeTimeoutMs ?? Math.min(10_000, Math.max(2_000, intervalMs)),
    fenceTimeoutMs: overrides.fenceTimeoutMs ?? 10 * 60_000,
    lostVmCheckIntervalMs: overrides.lostVmCheckIntervalMs ?? 6 * intervalMs,
  };
}

/** True unless the aggregate's metadata turns automatic recovery off. */
export function autoRecoverEnabled(metadata: Record<string, string>): boolean {
  const value = metadata[autoRecoverKey]?.trim().toLowerCase();
  return !(value === "false" || value === "0" || value === "no" || value === "off");
}

/** One stretch of time during which an aggregate's master is unreachable from the controller. */
interface Episode {
  master: string;
  since: number;
  announced: Set<string>;
  /** Set once the members confirmed the failure (counted once per episode). */
  confirmed?: boolean;
}

/** Counters for tests and diagnostics. */
export interface DetectorStats {
  passes: number;
  /** Masters currently unreachable from the controller, with since when (ms since epoch). */
  suspects: { aggregateId: number; master: string; since: number }[];
}

/** The periodic master-failure detector, also told about every agent report. */
export class MasterFailureDetector implements HostReportListener {
  private readonly periodic: PeriodicPass;
  private readonly stop = new AbortController();
  private readonly episodes = new Map<number, Episode>();
  private readonly fencing = new Map<string, Promise<void>>();
  private readonly lostVmsCheckedAt = new Map<number, number>();
  /** Checks of one aggregate run one at a time. */
  private readonly checks = new KeyedQueue<number>();
  /** Which reports run fencing at once (registrations, heartbeats with changed pool facts). */
  private readonly reportTrigger = new ReportTrigger();
  private readonly reportChecks = new Set<Promise<void>>();

  constructor(
    private readonly ctx: IntakeContext,
    readonly settings: MasterFailureSettings,
  ) {
    // Every probe of a pass listens to the shutdown signal.
    setMaxListeners(0, this.stop.signal);
    this.periodic = new PeriodicPass("master-failure", settings.intervalMs, () => this.pass(), ctx.log, () => this.stop.signal.aborted);
  }

  /** Starts the timer. */
  start(): void {
    this.periodic.start();
  }

  /** One pass over the aggregates (overlapping calls share the pass). */
  tick(): Promise<void> {
    return this.periodic.tick();
  }

  /** Counters and current suspects. */
  stats(): DetectorStats {
    return {
      passes: this.periodic.passes,
      suspects: [...this.episodes].map(([aggregateId, e]) => ({ aggregateId, master: e.master, since: e.since })),
    };
  }

  /** Stops the timer and waits for a running pass, checks and fencing. */
  async close(): Promise<void> {
    this.stop.abort(new Error("controller shutting down"));
    await this.periodic.stop();
    await Promise.allSettled([...this.reportChecks]);
    await this.checks.idle();
    await Promise.allSettled([...this.fencing.values()]);
  }

  /**
   * An agent's report was accepted. A registration (the agent's XAPI came back, its role or pool
   * changed, it restarted) or a heartbeat with other pool facts than the last may make its host a
   * fencing candidate: that aggregate's fencing runs now, each action still decided on the hosts'
   * live answers (fencing.ts).
   */
  reported(host: string, facts: PoolFactsRecord | null, kind: "registration" | "heartbeat"): void {
    if (!this.reportTrigger.observe(host, facts, kind) || this.stop.signal.aborted) return;
    const check = this.fenceOnReport(host)
      .catch((err: unknown) => {
        if (!this.stop.signal.aborted) this.ctx.log.warn("fencing on an agent report failed; the next pass retries", { host, error: err instanceof Error ? err.message : String(err) });
      })
      .finally(() => this.reportChecks.delete(check));
    this.reportChecks.add(check);
  }

  /** Runs the fencing of the reporting host's aggregate, behind (or joining) the aggregate's other checks. */
  private async fenceOnReport(hostName: string): Promise<void> {
    const { store } = this.ctx;
    const host = await store.hosts.get(hostName);
    const id = host?.aggregateId;
    if (id == null) return;
    await this.checks.run(id, async () => {
      if (this.stop.signal.aborted) return;
      const aggregate = await store.aggregates.get(id);
      if (!aggregate?.masterHost || aggregate.masterHost === hostName) return;
      const master = await store.hosts.get(aggregate.masterHost);
      if (!master) return;
      const operations = (await store.operations.unfinished()).filter((o) => o.aggregateId === id);
      if (operations.some((o) => o.kind === "RECOVER_MASTER") || operations.some(isHandingOverMaster)) return;
      // A master that looks down is the periodic pass's to judge; fencing needs a healthy one.
      if (heartbeatEvidence(master, this.ctx.heartbeatIntervalMs).down) return;
      await underLease(this.ctx, id, async (ctx) => void (await this.fenceReturning(ctx, aggregate, master)));
    }, true);
  }

  private async pass(): Promise<void> {
    const { store } = this.ctx;
    const unfinished = await store.operations.unfinished();
    for await (const slice of slicesOfAggregatesWithHosts(store.aggregates)) {
      const check = (a: AggregateRecord) => underLease(this.ctx, a.id, (ctx) => this.check(ctx, a, unfinished.filter((o) => o.aggregateId === a.id)));
      await Promise.all(slice.map((a) => this.checks.run(a.id, async () => void (await check(a)))));
      if (this.stop.signal.aborted) return;
    }
    for (const id of [...this.episodes.keys(), ...this.lostVmsCheckedAt.keys()]) {
      if (!await store.aggregates.get(id)) {
        this.episodes.delete(id);
        this.lostVmsCheckedAt.delete(id);
      }
    }
  }

  private async event(ctx: IntakeContext, aggregate: AggregateRecord, kind: string, host: string | null, message: string): Promise<void> {
    await ctx.store.appendEvent({ kind, aggregateId: aggregate.id, host, message });
  }

  /** Announces once per episode. */
  private announce(ctx: IntakeContext, episode: Episode, aggregate: AggregateRecord, kind: string, message: string): void {
    if (episode.announced.has(kind)) return;
    episode.announced.add(kind);
    this.event(ctx, aggregate, kind, episode.master, message);
  }

  private async check(ctx: IntakeContext, aggregate: AggregateRecord, operations: OperationRecord[]): Promise<void> {
    const { store } = ctx;
    if (this.stop.signal.aborted) return;
    if (!aggregate.masterHost) return void this.episodes.delete(aggregate.id);
    const master = await store.hosts.get(aggregate.masterHost);
    if (!master) return;
    for (const h of await store.hosts.members(aggregate.id)) ctx.knownCapacity.observe(h);
    // A recovery is under way, or another operation is handing the master role over.
    if (operations.some((o) => o.kind === "RECOVER_MASTER")) return;
    if (operations.some(isHandingOverMaster)) return;

    const heartbeat = heartbeatEvidence(master, ctx.heartbeatIntervalMs);
    if (!heartbeat.down) return this.healthy(ctx, aggregate, master, undefined);
    const probe = await probeMaster(ctx, ctx.agents, master, { signal: this.stop.signal, timeoutMs: this.settings.probeTimeoutMs });
    if (verdictOf(probe) === "healthy") return this.healthy(ctx, aggregate, master, probe);

    let episode = this.episodes.get(aggregate.id);
    if (!episode || episode.master !== master.name) {
      episode = { master: master.name, since: Date.now(), announced: new Set() };
      this.episodes.set(aggregate.id, episode);
      ctx.metrics.masterFailureEpisodeBegan();
    }
    const thresholdS = (this.settings.failureThresholdMs / 1000).toFixed(1);
    this.announce(ctx, episode, aggregate, "pool.master-unreachable", `the controller cannot reach pool master ${master.name} of aggregate ${aggregate.id} (${describeEvidence(probe)}); asking the members in ${thresholdS} s unless it answers again`);
    if (Date.now() - episode.since < this.settings.failureThresholdMs) return;

    const members = await askMembers(ctx.agents, aggregate, await survivingMembers(ctx, aggregate), { signal: this.stop.signal, timeoutMs: this.settings.probeTimeoutMs });
    if (this.stop.signal.aborted) return;
    const verdict = verdictOf(probe, members);
    if (verdict === "partition") {
      return this.announce(ctx, episode, aggregate, "pool.master-partition", `pool master ${master.name} of aggregate ${aggregate.id} is unreachable from the controller, but members still reach it: no promotion (${describeEvidence(probe, members)})`);
    }
    if (verdict !== "failed") {
      return this.announce(ctx, episode, aggregate, "pool.master-unconfirmed", `pool master ${master.name} of aggregate ${aggregate.id} is unreachable, but no surviving member could confirm it: no promotion (${describeEvidence(probe, members)})`);
    }
    await this.failed(ctx, aggregate, master, episode, probe, members);
  }

  /** The master answers (or its heartbeats are fine): end an episode, clear the condition, fence, prune lost VMs. */
  private async healthy(ctx: IntakeContext, aggregate: AggregateRecord, master: HostRecord, probe: MasterProbe | undefined): Promise<Promise<void> | void> {
    const episode = this.episodes.get(aggregate.id);
    if (episode) {
      this.episodes.delete(aggregate.id);
      if (episode.announced.size > 0) this.event(ctx, aggregate, "pool.master-reachable", master.name, `pool master ${master.name} of aggregate ${aggregate.id} is reachable again`);
    }
    if (isMasterFailureError(aggregate.lastError)) {
      const { store } = ctx;
      await store.transaction(async () => {
        const current = (await store.aggregates.get(aggregate.id))!;
        if (!isMasterFailureError(current.lastError)) return;
        await store.aggregates.setError(aggregate.id, errorWhenMasterAnswers(current.lastError), nowIso());
        await store.events.append({ kind: "pool.master-back", aggregateId: aggregate.id, host: master.name, message: `pool master ${master.name} of aggregate ${aggregate.id} is reachable again; the failure condition is cleared` });
      });
    }
    if (probe && probe.role !== undefined && probe.role !== HostRole.MASTER) return; // not the master it is recorded as: the reconciler reports the drift
    if (await this.fenceReturning(ctx, aggregate, master)) return;
    if (aggregate.lostVms.length > 0 && Date.now() - (this.lostVmsCheckedAt.get(aggregate.id) ?? 0) >= this.settings.lostVmCheckIntervalMs) {
      this.lostVmsCheckedAt.set(aggregate.id, Date.now());
      return pruneLostVms(ctx, aggregate, master, { signal: this.stop.signal, timeoutMs: this.settings.probeTimeoutMs });
    }
  }

  /** Starts fencing the aggregate's candidates not being fenced yet; false when there are none. */
  private async fenceReturning(ctx: IntakeContext, aggregate: AggregateRecord, master: HostRecord): Promise<boolean> {
    const candidates = (await fencingCandidates(ctx, aggregate, master)).filter((c) => !this.fencing.has(c.host.name));
    if (candidates.length === 0) return false;
    await this.startFencing(ctx, aggregate, master, candidates);
    return true;
  }

  /** Starts fencing in the background (a repointing waits for a toolstack restart). */
  private async startFencing(ctx: IntakeContext, aggregate: AggregateRecord, master: HostRecord, candidates: FencingCandidate[]): Promise<void> {
    // Fence only behind a master that really answers as the master.
    const probe = await probeMaster(ctx, ctx.agents, master, { signal: this.stop.signal, timeoutMs: this.settings.probeTimeoutMs });
    if (!probe.answers || probe.role !== HostRole.MASTER) return;
    const f: FencingContext = { ctx: ctx, signal: this.stop.signal, probeTimeoutMs: this.settings.probeTimeoutMs, fenceTimeoutMs: this.settings.fenceTimeoutMs };
    for (const candidate of candidates) {
      const name = candidate.host.name;
      if (this.fencing.has(name)) continue;
      const task = fence(f, aggregate, master, candidate)
        .then((done) => {
          if (done) ctx.log.info("fenced a host", { aggregate: aggregate.id, host: name, how: done });
        })
        .catch((err: unknown) => {
          if (this.stop.signal.aborted) return;
          const message = err instanceof Error ? err.message : String(err);
          ctx.log.warn("fencing failed; retrying on the next pass", { aggregate: aggregate.id, host: name, error: message });
          this.event(ctx, aggregate, "host.fencing-failed", name, `fencing ${name} failed (retried on the next pass): ${message}`);
        })
        .finally(() => this.fencing.delete(name));
      this.fencing.set(name, task);
    }
  }

  /** A confirmed failure: start the recovery, or show the condition and wait for an operator. */
  private async failed(ctx: IntakeContext, seen: AggregateRecord, master: HostRecord, episode: Episode, probe: MasterProbe, members: MemberReport[]): Promise<void> {
    const { store } = ctx;
    const aggregate = await store.aggregates.get(seen.id);
    if (!aggregate || aggregate.masterHost !== master.name) return;
    const evidence = `unreachable for ${((Date.now() - episode.since) / 1000).toFixed(1)} s; ${describeEvidence(probe, members)}`;
    const auto = autoRecoverEnabled(aggregate.metadata);
    // Never retried on its own: a failed or cancelled recovery waits for an operator.
    const failedRecovery = aggregate.lastError?.operationId ? await store.operations.get(aggregate.lastError.operationId) : undefined;
    const waiting = isMasterFailureError(aggregate.lastError) || failedRecovery?.kind === "RECOVER_MASTER";
    if (!episode.confirmed) {
      episode.confirmed = true;
      ctx.metrics.masterFailureConfirmed(auto && !waiting ? "automatic" : "operator");
    }
    if (auto && !waiting) {
      this.announce(ctx, episode, aggregate, "pool.master-failed", `pool master ${master.name} of aggregate ${aggregate.id} failed (${evidence}); starting the automatic recovery`);
      try {
        const { id } = await recoverMaster(ctx, aggregate.id, undefined, { master: master.name, evidence });
        this.episodes.delete(aggregate.id);
        ctx.log.info("master recovery started", { aggregate: aggregate.id, master: master.name, operation: id });
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        ctx.log.warn("could not start the master recovery", { aggregate: aggregate.id, error: message });
        this.announce(ctx, episode, aggregate, "pool.master-recovery-refused", `pool master ${master.name} of aggregate ${aggregate.id} failed, but the recovery could not start: ${message}`);
      }
      return;
    }
    const why = !auto
      ? `automatic recovery is off (metadata ${autoRecoverKey}=${aggregate.metadata[autoRecoverKey]})`
      : failedRecovery?.kind === "RECOVER_MASTER"
        ? `the recovery ${failedRecovery.id} failed (${aggregate.lastError!.message})`
        : `the aggregate waits for an operator (${aggregate.lastError!.message})`;
    const action = `run "aggctl aggregate-recover-master ${aggregate.id} [--new-master HOST]"`;
    if (episode.announced.has("pool.master-failed")) return;
    episode.announced.add("pool.master-failed");
    await store.transaction(async () => {
      const current = (await store.aggregates.get(aggregate.id))!;
      // A failed recovery's error stays as it is; otherwise the aggregate shows the condition.
      if (!current.lastError) await store.aggregates.setError(aggregate.id, masterFailureCondition(`${master.name} (${evidence}); ${why}: ${action}`, nowIso()), nowIso());
      await store.events.append({
        kind: "pool.master-failed",
        aggregateId: aggregate.id,
        host: master.name,
        message: `pool master ${master.name} of aggregate ${aggregate.id} failed (${evidence}); ${why}: an operator must ${action}`,
      });
    });
  }
}
