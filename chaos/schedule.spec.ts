import { describe, expect, it } from "vitest";
import { drawSchedule } from "./schedule.js";

describe("drawSchedule", () => {
  it("replays a seed exactly", () => {
    expect(drawSchedule({ seed: 42, hosts: 5, events: 24 })).toEqual(drawSchedule({ seed: 42, hosts: 5, events: 24 }));
  });

  it("inserts rolling maintenance without moving the other events (a seed drawn without them keeps its schedule)", () => {
    let inserted = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const without = drawSchedule({ seed, hosts: 5, events: 24, rollingMaintenance: false });
      const withRolling = drawSchedule({ seed, hosts: 5, events: 24 });
      const rolling = withRolling.events.filter((e) => e.kind === "rolling-maintenance");
      inserted += rolling.length;
      expect(without.events.some((e) => e.kind === "rolling-maintenance")).toBe(false);
      expect(withRolling.events.filter((e) => e.kind !== "rolling-maintenance")).toEqual(without.events);
      expect(rolling.every((e) => e.gapMs === 0)).toBe(true);
    }
    expect(inserted).toBeGreaterThan(5);
  });
});
