import { describe, expect, it } from "vitest";
import { planReturnPass, type ReturnHost, type ReturnVm } from "./return-plan.js";

const host = (name: string, free: number): ReturnHost => ({ name, uuid: `u-${name}`, freeBytes: free });
const vm = (name: string, on: string, home: string | undefined, mem = 1): ReturnVm => ({ uuid: name, name, memoryBytes: mem, host: on, home });
const summary = (moves: ReturnType<typeof planReturnPass>) => moves.map((m) => `${m.vm.name}->${m.to.name}:${m.why}`).sort();

describe("planReturnPass", () => {
  it("sends every VM that fits back home at once, and none that is home already", () => {
    const moves = planReturnPass([vm("a1", "b", "a"), vm("b1", "a", "b"), vm("c1", "c", "c")], [host("a", 1), host("b", 1), host("c", 0)]);
    expect(summary(moves)).toEqual(["a1->a:home", "b1->b:home"]);
  });

  it("a swap: when neither fits at home, a foreign VM leaves a home host to make room for the next pass", () => {
    // a1 (on b) and b1 (on a) each need the other's place; c has room for one.
    const vms = [vm("a1", "b", "a", 2), vm("b1", "a", "b", 2)];
    const hosts = [host("a", 0), host("b", 0), host("c", 2)];
    const first = planReturnPass(vms, hosts);
    expect(first).toHaveLength(1);
    expect(first[0]!.why).toBe("make-room");
    expect(first[0]!.to.name).toBe("c");
    // After that move, the other VM fits at home.
    const moved = first[0]!.vm.name;
    const after = vms.map((v) => (v.name === moved ? { ...v, host: "c" } : v));
    const freed = moved === "b1" ? "a" : "b";
    const second = planReturnPass(after, [host("a", freed === "a" ? 2 : 0), host("b", freed === "b" ? 2 : 0), host("c", 0)]);
    expect(summary(second)).toEqual([moved === "b1" ? "a1->a:home" : "b1->b:home"]);
  });

  it("a VM given up on is skipped; nothing is planned when nothing can move", () => {
    expect(planReturnPass([vm("a1", "b", "a")], [host("a", 1), host("b", 0)], new Set(["a1"]))).toEqual([]);
    expect(planReturnPass([vm("a1", "b", "a", 5)], [host("a", 1), host("b", 0)])).toEqual([]);
    expect(planReturnPass([vm("a1", "b", "gone")], [host("a", 9), host("b", 9)])).toEqual([]);
  });
});
