/** The host links: each host's outgoing bandwidth, shared equally by the migrations leaving it. */
import type { ClockTimer, ScaledClock } from "../clock.js";

/** One memory transfer over a host link. */
export interface Transfer {
  /** Resolves when every byte is across; rejects with the abort reason. */
  readonly done: Promise<void>;
  /** Fraction transferred so far, 0..1. */
  fraction(): number;
  /** Stops the transfer (frees its share of the link). */
  abort(reason: unknown): void;
}

interface TransferState {
  total: number;
  remaining: number;
  resolve: () => void;
  reject: (reason: unknown) => void;
}

interface Link {
  active: Set<TransferState>;
  last: number;
  timer: ClockTimer | null;
}

const EPSILON_BYTES = 1;

/**
 * Processor-sharing model of host links: a link moves `bytesPerMs` bytes per
 * nominal ms, split equally among the transfers active on it. Completion
 * times are recomputed whenever a transfer starts or ends.
 */
export class LinkScheduler {
  private readonly links = new Map<string, Link>();

  constructor(
    private readonly clock: ScaledClock,
    private readonly bytesPerMs: number,
  ) {}

  /** Number of transfers currently sharing a link. */
  activeOn(linkId: string): number {
    return this.links.get(linkId)?.active.size ?? 0;
  }

  /** Starts moving `bytes` over the link `linkId`. */
  start(linkId: string, bytes: number): Transfer {
    let link = this.links.get(linkId);
    if (!link) {
      link = { active: new Set(), last: this.clock.now(), timer: null };
      this.links.set(linkId, link);
    }
    const theLink = link;
    this.settle(theLink);
    let state!: TransferState;
    const done = new Promise<void>((resolve, reject) => {
      state = { total: Math.max(0, bytes), remaining: Math.max(0, bytes), resolve, reject };
    });
    done.catch(() => undefined);
    theLink.active.add(state);
    this.reschedule(linkId, theLink);
    return {
      done,
      fraction: () => {
        if (state.total === 0) return 1;
        if (!theLink.active.has(state)) return state.remaining <= EPSILON_BYTES ? 1 : 1 - state.remaining / state.total;
        const share = ((this.clock.now() - theLink.last) * this.bytesPerMs) / theLink.active.size;
        return Math.min(1, Math.max(0, 1 - (state.remaining - share) / state.total));
      },
      abort: (reason: unknown) => {
        if (!theLink.active.has(state)) return;
        this.settle(theLink);
        theLink.active.delete(state);
        state.reject(reason);
        this.reschedule(linkId, theLink);
      },
    };
  }

  /** Cancels every pending completion timer (shutdown). */
  dispose(): void {
    for (const link of this.links.values()) link.timer?.cancel();
    this.links.clear();
  }

  private settle(link: Link): void {
    const now = this.clock.now();
    const n = link.active.size;
    if (n > 0) {
      const share = ((now - link.last) * this.bytesPerMs) / n;
      for (const t of link.active) t.remaining -= share;
    }
    link.last = now;
  }

  private reschedule(linkId: string, link: Link): void {
    link.timer?.cancel();
    link.timer = null;
    if (link.active.size === 0) {
      this.links.delete(linkId);
      return;
    }
    let min = Infinity;
    for (const t of link.active) min = Math.min(min, t.remaining);
    const delay = (Math.max(0, min) * link.active.size) / this.bytesPerMs;
    link.timer = this.clock.setTimeout(() => this.tick(linkId, link), delay);
  }

  private tick(linkId: string, link: Link): void {
    this.settle(link);
    const finished: TransferState[] = [];
    for (const t of link.active) if (t.remaining <= EPSILON_BYTES) finished.push(t);
    for (const t of finished) {
      link.active.delete(t);
      t.remaining = 0;
    }
    this.reschedule(linkId, link);
    for (const t of finished) t.resolve();
  }
}
