/**
 * The controller's /metrics (docs/metrics.md): who may scrape it, the exposition format read by a
 * real parser, counters of operations and steps from the runner, gauges read from the store at
 * scrape time, and one registry per controller. End to end with agents: test/e2e/metrics.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AggregateService } from "../../gen/hostaggregates/v1/aggregate_pb.js";
import { OperationState } from "../../gen/hostaggregates/v1/operation_pb.js";
import { TokenRegistry } from "../../shared/auth.js";
import { hostRegistration, startTestController, testAdminToken, testAgentToken, type TestController } from "../support/controller-harness.js";
import { spawnController, writeTokensFile } from "../support/controller-process.js";
import { eventually } from "../support/eventually.js";
import { scrape } from "../support/metrics-scrape.js";
import { expectRpcError } from "../support/rpc-errors.js";

const metricsToken = "test-metrics-token";
const p = "hostaggregates_";
const tokens = () => new TokenRegistry().add(testAdminToken, "admin").add(testAgentToken, "agent").add(metricsToken, "metrics");

let h: TestController;
let url: string;
beforeAll(async () => {
  h = await startTestController({ tokens: tokens(), stepTimeoutMs: 300, retryDelayMs: 20 });
  url = `${h.httpUrl}/metrics`;
});
afterAll(async () => h?.close());

describe("who may scrape /metrics", () => {
  it("needs a metrics or admin bearer token: 401 without or with a bad one, 403 for an agent token", async () => {
    const none = await fetch(url);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toBe('Bearer realm="metrics"');
    expect(await none.text()).toMatch(/metrics or admin token/);
    expect((await fetch(url, { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
    const agent = await fetch(url, { headers: { authorization: `Bearer ${testAgentToken}` } });
    expect(agent.status).toBe(403);
    expect(await agent.text()).not.toContain(testAgentToken);
    for (const token of [metricsToken, testAdminToken]) {
      const ok = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
      expect(ok.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    }
  });

  it("answers HEAD without a body and refuses other methods with 405", async () => {
    const head = await fetch(url, { method: "HEAD", headers: { authorization: `Bearer ${metricsToken}` } });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
    const post = await fetch(url, { method: "POST", headers: { authorization: `Bearer ${metricsToken}` } });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
  });

  it("a metrics token may do nothing else: PERMISSION_DENIED on the API, 403 on the REST API", async () => {
    await expectRpcError(h.client(AggregateService, metricsToken).listAggregates({}), Code.PermissionDenied);
    const rest = await fetch(`${h.httpUrl}/v2.1/os-aggregates`, { headers: { "x-auth-token": metricsToken } });
    expect(rest.status).toBe(403);
  });

  it("loads metrics tokens from the tokens file and AGGREGATES_METRICS_TOKEN", () => {
    const dir = mkdtempSync(join(tmpdir(), "metrics-tokens-"));
    try {
      const file = join(dir, "tokens.json");
      writeFileSync(file, JSON.stringify([{ token: "from-file", role: "metrics" }]));
      const registry = TokenRegistry.load({ file, env: { AGGREGATES_METRICS_TOKEN: "from-env" } });
      expect([registry.roleOf("from-file"), registry.roleOf("from-env")]).toEqual(["metrics", "metrics"]);
      writeFileSync(file, JSON.stringify([{ token: "t", role: "reader" }]));
      expect(() => TokenRegistry.load({ file, env: {} })).toThrow(/admin\|agent\|metrics/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("what /metrics shows", () => {
  it("starts every operation counter at 0, one series per kind and result", async () => {
    const s = await scrape(url, metricsToken);
    const ops = s.family(`${p}operations_total`);
    expect(ops.type).toBe("COUNTER");
    expect(ops.metrics).toHaveLength(6 * 3);
    expect(s.value(`${p}operations_total`, { kind: "RECOVER_MASTER", result: "CANCELLED" })).toBe(0);
    expect(s.value(`${p}operations_total`, { kind: "ROLLING_MAINTENANCE", result: "SUCCEEDED" })).toBe(0);
    expect(s.family(`${p}operation_step_duration_seconds`).type).toBe("HISTOGRAM");
  });

  it("reads pool state per aggregate, hosts and heartbeat age from the store when scraped", async () => {
    const agg = await h.aggregates.createAggregate({ name: "metrics-a" });
    let s = await scrape(url, metricsToken);
    const labels = { aggregate_id: String(agg.id), aggregate: "metrics-a" };
    expect(s.value(`${p}aggregate_pool_state`, { ...labels, state: "EMPTY" })).toBe(1);
    expect(s.value(`${p}aggregate_pool_state`, labels)).toBe(1); // exactly one state is 1

    const before = s.value(`${p}hosts`);
    await h.registry.registerHost(hostRegistration("metrics-h1"));
    await h.registry.heartbeat({ name: "metrics-h1" });
    s = await scrape(url, metricsToken);
    expect(s.value(`${p}hosts`) - before).toBe(1);
    const age = s.value(`${p}host_heartbeat_age_seconds`, { host: "metrics-h1" });
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(10);

    await h.aggregates.deleteAggregate({ id: agg.id });
    s = await scrape(url, metricsToken);
    expect(s.family(`${p}aggregate_pool_state`).metrics.some((m) => m.labels?.aggregate === "metrics-a")).toBe(false);
  });

  it("counts a failed AddHost and the duration of its failed step", async () => {
    await h.registry.registerHost(hostRegistration("metrics-dead")); // its agent does not answer
    const agg = await h.aggregates.createAggregate({ name: "metrics-b" });
    const before = await scrape(url, metricsToken);
    const op = await h.aggregates.addHost({ aggregateId: agg.id, host: "metrics-dead" });
    const done = await eventually(`operation ${op.id}`, async () => {
      const o = await h.operations.getOperation({ id: op.id });
      return o.state === OperationState.FAILED ? o : undefined;
    });
    const failed = done.steps.find((st) => st.detail)!;
    const failedStep = failed.name;
    const journaled = Number(timestampMs(failed.finishedAt!) - timestampMs(failed.startedAt!)) / 1000;
    const after = await scrape(url, metricsToken);
    const ops = { kind: "ADD_HOST", result: "FAILED" };
    expect(after.value(`${p}operations_total`, ops) - before.value(`${p}operations_total`, ops)).toBe(1);
    const step = { kind: "ADD_HOST", step: failedStep, state: "FAILED" };
    const took = after.histogram(`${p}operation_step_duration_seconds`, step);
    expect(took.count - before.histogram(`${p}operation_step_duration_seconds`, step).count).toBe(1);
    // It retried the unreachable agent for most of the 300 ms deadline, as the journal shows.
    expect(took.sum).toBeGreaterThan(0.05);
    expect(Math.abs(took.sum - journaled)).toBeLessThan(0.1);
    expect(after.value(`${p}aggregate_pool_state`, { aggregate: "metrics-b", state: "ERROR" })).toBe(1);
  });

  it("keeps one registry per controller: a second one in this process counts on its own", async () => {
    const other = await startTestController({ tokens: tokens() });
    try {
      await other.aggregates.createAggregate({ name: "metrics-other" });
      const mine = await scrape(url, metricsToken);
      const theirs = await scrape(`${other.httpUrl}/metrics`, metricsToken);
      expect(theirs.family(`${p}aggregate_pool_state`).metrics.map((m) => m.labels?.aggregate)).toEqual(expect.arrayContaining(["metrics-other"]));
      expect(mine.family(`${p}aggregate_pool_state`).metrics.some((m) => m.labels?.aggregate === "metrics-other")).toBe(false);
      expect(theirs.value(`${p}operations_total`)).toBe(0);
      expect(mine.value(`${p}operations_total`)).toBeGreaterThan(0);
    } finally {
      await other.close();
    }
  });

  it("the daemon also exports process metrics and prints where /metrics is", async () => {
    const dir = mkdtempSync(join(tmpdir(), "metrics-daemon-"));
    const tokensFile = join(dir, "tokens.json");
    writeTokensFile(tokensFile, [{ token: metricsToken, role: "metrics" }]);
    const daemon = await spawnController({ dbPath: join(dir, "c.db"), tokensFile });
    try {
      await eventually("the metrics line", () => daemon.output().stdout.includes(`Prometheus metrics on ${daemon.httpUrl}/metrics (a metrics or admin token)`));
      const s = await scrape(`${daemon.httpUrl}/metrics`, metricsToken);
      expect(s.value("process_cpu_user_seconds_total")).toBeGreaterThan(0);
      expect(s.family("nodejs_eventloop_lag_seconds").type).toBe("GAUGE");
      expect(s.text).not.toContain(metricsToken);
    } finally {
      await daemon.kill("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
