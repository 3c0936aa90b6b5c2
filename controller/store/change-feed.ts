/** In-process notifications of changed operations and new events, for Wait/Watch calls. */
import { EventEmitter } from "node:events";

/** Announces changes; waiters re-read the store when told. */
export class ChangeFeed {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  /** Announces that an operation changed. */
  operationChanged(id: string): void {
    this.emitter.emit(`op:${id}`);
  }

  /** Announces that events were appended. */
  eventsAppended(): void {
    this.emitter.emit("events");
  }

  /**
   * Resolves on the next change of an operation (or of the event log when id is undefined),
   * or when the signal aborts or timeoutMs passes. Never rejects.
   */
  next(id: string | undefined, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const name = id === undefined ? "events" : `op:${id}`;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.emitter.off(name, done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, timeoutMs));
      this.emitter.on(name, done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }
}
