/** Runs at most one instance of a keyed operation at a time; concurrent callers share it. */
export class SingleFlight<T> {
  readonly #running = new Map<string, Promise<T>>();

  /** The running operation for key, or a new one started with work. */
  run(key: string, work: () => Promise<T>): Promise<T> {
    const existing = this.#running.get(key);
    if (existing) return existing;
    const started = work().finally(() => this.#running.delete(key));
    this.#running.set(key, started);
    return started;
  }
}
