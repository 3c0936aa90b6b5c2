/**
 * A replica's leases (one per aggregate, plus the fleet lease): taken before acting on an
 * aggregate, renewed together every third of the TTL in one statement, and trusted only until a
 * local deadline on the monotonic clock (lease-timing.ts). A lease is lost when a renewal fails or
 * does not return it, when its local deadline passes, or when a fenced write finds it gone
 * (leased-context.ts); its signal is then aborted at once, which interrupts the steps and passes
 * acting under it. Losing is final for that holding: acting again needs a new take().
 */
import type { Logger } from "../../shared/logging.js";
import type { Lease, LeaseStore } from "../store/store.js";
import { localDeadline, renewalOutcome, renewIntervalMs } from "./lease-timing.js";

/** A lease this replica holds (or held: see valid()). */
export interface HeldLease {
  readonly lease: Lease;
  /** Aborted when the lease is lost (or the replica stops). */
  readonly signal: AbortSignal;
  /** True while not lost and before the local deadline; checked synchronously right before acting. */
  valid(): boolean;
  /** Declares the lease lost (a fenced write found it gone). */
  lose(reason: string): void;
}

/** Settings of a keeper. */
export interface LeaseKeeperSettings {
  ttlMs: number;
  /**
   * At start, lapse every lease at once instead of waiting for the earlier holders' to expire: only
   * when this process is known to be the only controller (SQLite's lock file proves it).
   */
  takeOverAtOnce: boolean;
}

class Holding implements HeldLease {
  private readonly lost = new AbortController();
  private timer?: NodeJS.Timeout;

  constructor(
    readonly lease: Lease,
    private deadline: number,
    private readonly clock: () => number,
    private readonly onLost: (h: Holding, reason: string) => void,
  ) {
    this.arm();
  }

  get signal(): AbortSignal {
    return this.lost.signal;
  }

  valid(): boolean {
    if (this.lost.signal.aborted) return false;
    if (this.clock() < this.deadline) return true;
    this.lose("its local deadline passed before a renewal");
    return false;
  }

  /** A renewal sent at sentAt returned it. */
  extend(deadline: number): void {
    if (this.lost.signal.aborted) return;
    this.deadline = Math.max(this.deadline, deadline);
    this.arm();
  }

  lose(reason: string): void {
    if (this.lost.signal.aborted) return;
    clearTimeout(this.timer);
    this.lost.abort(new Error(`lost the lease of aggregate ${this.lease.aggregateId} (epoch ${this.lease.epoch}): ${reason}`));
    this.onLost(this, reason);
  }

  private arm(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.valid(), Math.max(0, this.deadline - this.clock()) + 1);
    this.timer.unref();
  }
}

/** Takes, renews and gives up one replica's leases. */
export class LeaseKeeper {
  private readonly holdings = new Map<number, Holding>();
  private readonly taking = new Map<number, Promise<HeldLease | undefined>>();
  private renewer?: NodeJS.Timeout;
  private renewing?: Promise<void>;
  private name?: string;
  private closed = false;

  constructor(
    private readonly leases: LeaseStore,
    private readonly settings: LeaseKeeperSettings,
    private readonly log: Logger,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** The replica id this keeper holds leases as (known once started). */
  get holder(): string {
    if (this.name === undefined) throw new Error("the lease keeper is not started");
    return this.name;
  }

  get ttlMs(): number {
    return this.settings.ttlMs;
  }

  /** Starts holding leases as holder (the replica id, once claimed) and renewing them. */
  async start(holder: string): Promise<void> {
    if (this.settings.takeOverAtOnce) await this.leases.lapseAll();
    this.name = holder;
    this.renewer = setInterval(() => void this.renew(), renewIntervalMs(this.settings.ttlMs));
    this.renewer.unref();
  }

  /** The aggregate's lease when held and valid now. */
  held(aggregateId: number): HeldLease | undefined {
    const h = this.holdings.get(aggregateId);
    return h?.valid() ? h : undefined;
  }

  /** The aggregate's lease: the one held, or newly taken; undefined while another replica holds it (or before start). */
  take(aggregateId: number): Promise<HeldLease | undefined> {
    const held = this.held(aggregateId);
    if (held) return Promise.resolve(held);
    if (this.name === undefined || this.closed) return Promise.resolve(undefined);
    let taking = this.taking.get(aggregateId);
    if (!taking) {
      taking = this.acquire(aggregateId, this.name).finally(() => this.taking.delete(aggregateId));
      this.taking.set(aggregateId, taking);
    }
    return taking;
  }

  private async acquire(aggregateId: number, holder: string): Promise<HeldLease | undefined> {
    const sentAt = this.clock();
    let lease: Lease | undefined;
    try {
      lease = await this.leases.acquire(aggregateId, holder, this.settings.ttlMs);
    } catch (err) {
      this.log.warn("cannot take a lease", { aggregate: aggregateId, error: err instanceof Error ? err.message : String(err) });
      return undefined;
    }
    if (!lease || this.closed) return undefined;
    const before = this.holdings.get(aggregateId);
    if (before?.valid() && before.lease.epoch === lease.epoch) {
      before.extend(localDeadline(sentAt, this.settings.ttlMs));
      return before;
    }
    before?.lose("taken again under a new holding");
    const fresh = new Holding(lease, localDeadline(sentAt, this.settings.ttlMs), this.clock, (h, reason) => this.forget(h, reason));
    this.holdings.set(aggregateId, fresh);
    this.log.info("took a lease", { aggregate: aggregateId, epoch: lease.epoch, holder });
    return fresh;
  }

  private forget(h: Holding, reason: string): void {
    if (this.holdings.get(h.lease.aggregateId) === h) this.holdings.delete(h.lease.aggregateId);
    const fields = { aggregate: h.lease.aggregateId, epoch: h.lease.epoch, reason };
    if (this.closed) this.log.info("gave a lease up", fields);
    else this.log.warn("lost a lease", fields);
  }

  /** Renews every held lease in one statement (overlapping calls share it); those not returned are lost. */
  renew(): Promise<void> {
    return (this.renewing ??= this.renewOnce().finally(() => (this.renewing = undefined)));
  }

  private async renewOnce(): Promise<void> {
    const held = [...this.holdings.values()].filter((h) => h.valid());
    if (held.length === 0 || this.name === undefined) return;
    const sentAt = this.clock();
    let renewed: Lease[];
    try {
      renewed = await this.leases.renew(this.name, held.map((h) => h.lease.aggregateId), this.settings.ttlMs);
    } catch (err) {
      for (const h of held) h.lose(`the renewal failed: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    const { lost } = renewalOutcome(held.map((h) => h.lease), renewed);
    const gone = new Set(lost);
    for (const h of held) {
      if (gone.has(h.lease.aggregateId)) h.lose("the renewal found it expired or taken");
      else h.extend(localDeadline(sentAt, this.settings.ttlMs));
    }
  }

  /** Stops renewing and gives every lease up (others may take them at once). */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.renewer);
    await this.renewing;
    const held = [...this.holdings.values()];
    for (const h of held) h.lose("the replica is stopping");
    await Promise.all(held.map((h) => this.leases.release(h.lease).catch(() => {})));
  }
}
