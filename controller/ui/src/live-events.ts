/**
 * The console's one event stream (EventService.WatchEvents over Connect server streaming). Views
 * subscribe to it to show the feed and to refresh what an event changed; after a broken stream it
 * reconnects after the last event it saw, so nothing is missed.
 */
import type { Event } from "../../../gen/hostaggregates/v1/event_pb.js";
import { isAbort, type Api } from "./api.js";

/** How the stream is doing, for the header's indicator. */
export type LiveStatus = "connecting" | "live" | "reconnecting";

export class LiveEvents {
  status: LiveStatus = "connecting";
  /** The newest event id seen (the stream resumes after it). */
  lastId = 0n;
  private readonly listeners = new Set<(e: Event) => void>();
  private readonly statusListeners = new Set<(s: LiveStatus) => void>();
  private readonly abort = new AbortController();

  constructor(private readonly api: Api) {}

  /** Calls `fn` with every new event until the returned function is called. */
  subscribe(fn: (e: Event) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  onStatus(fn: (s: LiveStatus) => void): () => void {
    this.statusListeners.add(fn);
    return () => this.statusListeners.delete(fn);
  }

  private setStatus(s: LiveStatus): void {
    if (this.status === s) return;
    this.status = s;
    for (const fn of this.statusListeners) fn(s);
  }

  /** Runs until stop(). */
  async start(): Promise<void> {
    const signal = this.abort.signal;
    let delayMs = 500;
    while (!signal.aborted) {
      try {
        if (this.lastId === 0n) {
          // Start after the newest event that exists now, so a reconnect can resume without a gap.
          const newest = await this.api.events.listEvents({ pageSize: 1 }, { signal });
          this.lastId = newest.events[0]?.id ?? 0n;
        }
        const stream = this.api.events.watchEvents({ afterId: this.lastId }, { signal });
        this.setStatus("live");
        for await (const e of stream) {
          delayMs = 500;
          if (e.id > this.lastId) this.lastId = e.id;
          for (const fn of this.listeners) fn(e);
        }
      } catch (err) {
        if (signal.aborted || isAbort(err)) return;
      }
      if (signal.aborted) return;
      this.setStatus("reconnecting");
      await new Promise((r) => setTimeout(r, delayMs)); // back-off before reconnecting
      delayMs = Math.min(delayMs * 2, 10_000);
    }
  }

  stop(): void {
    this.abort.abort();
  }
}
