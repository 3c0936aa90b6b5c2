/** Runs tasks one at a time per key (e.g. per aggregate); a coalescing request joins one of its key that has not started yet. */

/** A queue of async tasks per key. */
export class KeyedQueue<K> {
  private readonly tails = new Map<K, Promise<void>>();
  private readonly waiting = new Map<K, Promise<void>>();

  /**
   * Runs fn once the key's earlier tasks ended (whatever their outcome); resolves or rejects with fn.
   * With `coalesce`, a coalescing task of the key that has not started yet is returned instead of
   * queueing another (it will read the state after this request anyway).
   */
  run(key: K, fn: () => Promise<void>, coalesce = false): Promise<void> {
    if (coalesce) {
      const queued = this.waiting.get(key);
      if (queued) return queued;
    }
    const previous = this.tails.get(key) ?? Promise.resolve();
    const task: Promise<void> = previous.then(() => {
      if (this.waiting.get(key) === task) this.waiting.delete(key);
      return fn();
    });
    if (coalesce) this.waiting.set(key, task);
    const tail = task.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return task;
  }

  /** Resolves when every task queued so far has ended. */
  async idle(): Promise<void> {
    await Promise.all([...this.tails.values()]);
  }
}
