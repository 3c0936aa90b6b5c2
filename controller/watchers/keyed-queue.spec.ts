import { describe, expect, it } from "vitest";
import { KeyedQueue } from "./keyed-queue.js";

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

describe("KeyedQueue", () => {
  it("runs the tasks of one key one after the other, other keys alongside", async () => {
    const q = new KeyedQueue<number>();
    const log: string[] = [];
    const first = gate();
    const a1 = q.run(1, async () => {
      log.push("a1 start");
      await first.opened;
      log.push("a1 end");
    });
    const a2 = q.run(1, async () => void log.push("a2"));
    const b1 = q.run(2, async () => void log.push("b1"));
    await b1;
    expect(log).toEqual(["a1 start", "b1"]);
    first.open();
    await Promise.all([a1, a2]);
    expect(log).toEqual(["a1 start", "b1", "a1 end", "a2"]);
  });

  it("a failed task does not stop the next; its caller sees the failure", async () => {
    const q = new KeyedQueue<string>();
    const failed = q.run("k", async () => {
      throw new Error("boom");
    });
    const next = q.run("k", async () => undefined);
    await expect(failed).rejects.toThrow("boom");
    await expect(next).resolves.toBeUndefined();
  });

  it("coalesces requests while one is waiting, not once it started", async () => {
    const q = new KeyedQueue<number>();
    const busy = gate();
    let runs = 0;
    const blocker = q.run(1, () => busy.opened);
    const c1 = q.run(1, async () => void runs++, true);
    const c2 = q.run(1, async () => void runs++, true);
    expect(c2).toBe(c1);
    busy.open();
    await Promise.all([blocker, c1]);
    expect(runs).toBe(1);
    const started = gate();
    const hold = gate();
    const c3 = q.run(1, async () => {
      runs++;
      started.open();
      await hold.opened;
    }, true);
    await started.opened;
    const c4 = q.run(1, async () => void runs++, true);
    expect(c4).not.toBe(c3);
    hold.open();
    await Promise.all([c3, c4]);
    expect(runs).toBe(3);
    await q.idle();
  });
});
