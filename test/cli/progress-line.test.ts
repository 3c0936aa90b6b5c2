/**
 * The progress line fits the terminal: replayed on an 80-column terminal (columns stubbed) and in a
 * real pseudo-terminal under script(1), no row wraps and only the last text stays on screen.
 */
import { execFile, spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { progressWriter } from "../../cli/progress-line.js";
import { displayWidth, fitToWidth } from "../../cli/text-width.js";
import { hostRegistration, startTestController, type TestController } from "../support/controller-harness.js";
import { replay } from "./terminal-screen.js";

/** Progress texts of an evacuation, longer than 80 columns as soon as VMs migrate. */
const evacuation = [
  "op-8163217f-8111-4b9c-9e9c-b777961bae3d START_MAINTENANCE RUNNING 10%  step 1/4 plan",
  "op-8163217f-8111-4b9c-9e9c-b777961bae3d START_MAINTENANCE RUNNING 40%  VMs moved 1/6 (migrating: xs1-2g-1→xs2 35%, xs1-2g-2→xs3 12%, xs1-4g-1→xs2 3%)",
  "op-8163217f-8111-4b9c-9e9c-b777961bae3d START_MAINTENANCE RUNNING 70%  VMs moved 4/6 (migrating: 数据库-主→xs2 80%, e\u0301te\u0301→xs3 50%)",
  "op-8163217f-8111-4b9c-9e9c-b777961bae3d START_MAINTENANCE SUCCEEDED 100%  VMs moved 6/6",
];

function record(columns: number | undefined, fallback?: number) {
  let output = "";
  const write = progressWriter({ isTTY: true, columns, write: (t: string) => (output += t) }, () => fallback);
  return { write, output: () => output };
}

describe("the progress line on a terminal", () => {
  it("on 80 columns: no row wraps, each rewrite leaves only itself, the last one ends the row", () => {
    const term = record(80);
    evacuation.forEach((text, i) => term.write(text, i === evacuation.length - 1));
    const screen = replay(term.output(), 80);
    expect(screen.wraps).toBe(0);
    expect(screen.widest).toBeLessThan(80);
    expect(screen.rows).toEqual([fitToWidth(evacuation.at(-1)!, 80)]);
    expect(term.output().endsWith("\n")).toBe(true);
    const middle = record(80);
    middle.write(evacuation[1]!);
    expect(replay(middle.output(), 80).rows).toEqual([fitToWidth(evacuation[1]!, 80)]);
    expect(fitToWidth(evacuation[1]!, 80)).toMatch(/^op-8163217f.*…$/);
  });

  it("follows the width at each write, uses stdout's width or 80 when the stream has none", () => {
    let columns = 200;
    let output = "";
    const write = progressWriter({ isTTY: true, get columns() { return columns; }, write: (t: string) => (output += t) }, () => undefined);
    write(evacuation[1]!);
    expect(displayWidth(output.replace("\r\x1b[2K", ""))).toBe(displayWidth(evacuation[1]!));
    columns = 50;
    output = "";
    write(evacuation[2]!);
    expect(displayWidth(output.replace("\r\x1b[2K", ""))).toBeLessThan(50);
    const viaStdout = record(undefined, 60);
    viaStdout.write(evacuation[1]!);
    expect(replay(viaStdout.output(), 60)).toMatchObject({ wraps: 0, widest: 59 });
    const unknown = record(undefined, undefined);
    unknown.write(evacuation[1]!);
    expect(replay(unknown.output(), 80)).toMatchObject({ wraps: 0, widest: 79 });
  });

  it("counts wide and combining characters by columns and shows control characters as ?", () => {
    expect(displayWidth("数据库")).toBe(6);
    expect(displayWidth("e\u0301")).toBe(1);
    expect(fitToWidth("vm\x1b[31mred\tx", 80)).toBe("vm?[31mred?x");
    const cut = fitToWidth("数".repeat(50), 80);
    expect(displayWidth(cut)).toBeLessThanOrEqual(79);
  });

  it("off a terminal, writes each new text in full on its own line", () => {
    let output = "";
    const write = progressWriter({ isTTY: false, write: (t: string) => (output += t) });
    write(evacuation[1]!);
    write(evacuation[1]!);
    write(evacuation[3]!, true);
    expect(output).toBe(`${evacuation[1]}\n${evacuation[3]}\n`);
  });
});

const hasScript = spawnSync("sh", ["-c", "command -v script"]).status === 0;

describe.skipIf(!hasScript)("aggctl operation-wait in a 60-column pseudo-terminal", () => {
  let h: TestController;
  beforeAll(async () => {
    h = await startTestController({ retryDelayMs: 50, stepTimeoutMs: 2_000 });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("keeps every row within the width and leaves the last progress line and the error", async () => {
    const a = await h.aggregates.createAggregate({ name: "pty-pool" });
    await h.registry.registerHost(hostRegistration("pty-host"));
    // The host's agent is unreachable: the operation fails at its first step, after progress lines of ~78 columns.
    const op = await h.aggregates.addHost({ aggregateId: a.id, host: "pty-host" });
    const aggctl = resolve(import.meta.dirname, "../../bin/aggctl");
    const command = `stty cols 60 rows 24; AGGREGATES_ENDPOINT=${h.grpcEndpoint} AGGREGATES_TOKEN=${h.adminToken} ${aggctl} operation-wait ${op.id}`;
    const output = await new Promise<string>((done) =>
      execFile("script", ["-qec", command, "/dev/null"], { encoding: "utf8", timeout: 60_000 }, (_err, stdout, stderr) => done(stdout + stderr)),
    );
    expect(output).toContain("\r\x1b[2K");
    // The error message after the progress is ordinary output (it may wrap); the progress before it must not.
    const [progress, error] = output.replace(/\r\n/g, "\n").split(/(?=ERROR \(ABORTED\))/);
    const screen = replay(progress!, 60);
    expect(screen.wraps, JSON.stringify(output)).toBe(0);
    expect(screen.rows).toHaveLength(1);
    expect(screen.rows[0]).toMatch(new RegExp(`^${op.id}.*ADD_HOST FAILED.*…$`));
    expect(error).toMatch(/^ERROR \(ABORTED\): operation .* ended FAILED/);
  });
});
