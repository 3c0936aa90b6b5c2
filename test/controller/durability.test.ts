/**
 * Crash safety and restarts of the controller daemon (bin/aggregates-controller as its own process):
 * every acknowledged write survives SIGKILL; SIGTERM finishes the call in flight and exits 0;
 * reopening a database does not re-run migrations.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AgentRegistryService } from "../../gen/hostaggregates/v1/agent_registry_pb.js";
import { AggregateService } from "../../gen/hostaggregates/v1/aggregate_pb.js";
import { OperationService, OperationState } from "../../gen/hostaggregates/v1/operation_pb.js";
import { migrations } from "../../controller/store/migrations.js";
import { openSqliteStore } from "../../controller/store/sqlite-store.js";
import { createRpcClient } from "../../shared/rpc/client.js";
import { hostRegistration } from "../support/controller-harness.js";
import { spawnController, writeTokensFile, type ControllerProcess } from "../support/controller-process.js";
import { expectRpcError } from "../support/rpc-errors.js";

const adminToken = "durability-admin";
const agentToken = "durability-agent";
let dir: string;
let tokensFile: string;
const running: ControllerProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "aggregates-durability-"));
  tokensFile = join(dir, "tokens.json");
  writeTokensFile(tokensFile, [
    { token: adminToken, role: "admin" },
    { token: agentToken, role: "agent" },
  ]);
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.kill("SIGKILL")));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function start(dbPath: string): Promise<ControllerProcess> {
  const p = await spawnController({ dbPath, tokensFile });
  running.push(p);
  return p;
}

describe("controller process", () => {
  it("keeps every acknowledged write across SIGKILL; then SIGTERM finishes the call in flight and exits 0", async () => {
    const dbPath = join(dir, "crash.db");
    const first = await start(dbPath);
    const aggregates = createRpcClient(AggregateService, { endpoint: first.grpcEndpoint, token: adminToken });
    const expected = new Map<bigint, { name: string; availabilityZone: string; metadata: Record<string, string> }>();
    // Acknowledged writes, several in flight at a time: creates, then metadata sets.
    for (let batch = 0; batch < 4; batch++) {
      await Promise.all(
        Array.from({ length: 5 }, async (_, i) => {
          const name = `crash-${batch}-${i}`;
          const a = await aggregates.createAggregate({ name, availabilityZone: i % 2 ? "az-odd" : undefined });
          expected.set(a.id, { name, availabilityZone: a.availabilityZone, metadata: {} });
          const m = await aggregates.setAggregateMetadata({ id: a.id, metadata: { batch: String(batch), index: String(i) } });
          expected.get(a.id)!.metadata = { ...m.metadata };
        }),
      );
    }
    // The last acknowledged write, and the kill right after its reply.
    const lastId = [...expected.keys()].at(-1)!;
    const last = await aggregates.setAggregateMetadata({ id: lastId, metadata: { last: "write" }, removeKeys: ["index"] });
    expected.get(lastId)!.metadata = { ...last.metadata };
    const killed = await first.kill("SIGKILL");
    expect(killed.signal).toBe("SIGKILL");
    expect(expected.size).toBe(20);

    const second = await start(dbPath);
    const reopened = createRpcClient(AggregateService, { endpoint: second.grpcEndpoint, token: adminToken });
    const listed = await reopened.listAggregates({ pageSize: 1000 });
    expect(listed.aggregates).toHaveLength(expected.size);
    for (const a of listed.aggregates) {
      expect({ name: a.name, availabilityZone: a.availabilityZone, metadata: a.metadata }).toEqual(expected.get(a.id));
    }
    expect((await reopened.getAggregate({ id: lastId })).metadata).toMatchObject({ last: "write" });

    // SIGTERM while a WaitOperation is in flight: the call is answered (not cut off), the process exits 0.
    // The operation is a real AddHost whose agent is unreachable, so it keeps retrying and never ends by itself.
    const registry = createRpcClient(AgentRegistryService, { endpoint: second.grpcEndpoint, token: agentToken });
    await registry.registerHost(hostRegistration("durable-host"));
    const op = await reopened.addHost({ aggregateId: lastId, host: "durable-host" });
    const operations = createRpcClient(OperationService, { endpoint: second.grpcEndpoint, token: adminToken });
    const waiting = operations.waitOperation({ id: op.id, timeout: { seconds: 30n } });
    // The wait reaches the server before the signal: a later call on the same connection is answered first.
    expect([OperationState.PENDING, OperationState.RUNNING]).toContain((await operations.getOperation({ id: op.id })).state);
    const signalledAt = Date.now();
    const exited = second.kill("SIGTERM");
    const answer = await waiting;
    expect(answer.id).toBe(op.id);
    expect([OperationState.PENDING, OperationState.RUNNING]).toContain(answer.state);
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalledAt).toBeLessThan(5_000);

    // The data is intact after the graceful stop.
    const store = openSqliteStore(dbPath);
    try {
      expect((await store.aggregates.list({ afterId: 0, limit: 1000 })).map((a) => a.name).sort()).toEqual([...expected.values()].map((e) => e.name).sort());
      const lastRecord = (await store.aggregates.get(Number(lastId)))!;
      expect(lastRecord.metadata).toEqual(expected.get(lastId)!.metadata);
      // The accepted AddHost is journaled and will resume: the host is still joining, the operation unfinished.
      expect(lastRecord.members).toEqual([{ host: "durable-host", state: "JOINING" }]);
      expect((await store.operations.unfinished()).map((o) => o.id)).toEqual([op.id]);
    } finally {
      await store.close();
    }
    // After the stop nobody answers on the old address.
    await expectRpcError(reopened.listAggregates({}), Code.Unavailable);
  });
});

describe("one controller per database", () => {
  it("refuses a second controller on the same database, naming the process that holds it; a SIGKILLed holder's lock is taken over", async () => {
    const dbPath = join(dir, "locked.db");
    const first = await start(dbPath);
    await expect(spawnController({ dbPath, tokensFile })).rejects.toThrow(new RegExp(`in use by process ${first.pid}`));
    expect(() => openSqliteStore(dbPath)).toThrow(/in use by process/);
    await first.kill("SIGKILL");
    const second = await start(dbPath);
    const aggregates = createRpcClient(AggregateService, { endpoint: second.grpcEndpoint, token: adminToken });
    expect((await aggregates.listAggregates({})).aggregates).toEqual([]);
  });
});

describe("schema migrations", () => {
  it("creates the schema once; reopening keeps user_version (1) and the data", async () => {
    const dbPath = join(dir, "migrate.db");
    const first = openSqliteStore(dbPath);
    const newest = migrations.at(-1)!.version;
    expect(first.db.pragma("user_version", { simple: true })).toBe(newest);
    const id = (await first.transaction((tx) => tx.aggregates.insert("survivor", "az-1", new Date().toISOString())))!;
    await first.close();

    // Re-running migration 1 on this database would fail (CREATE TABLE of existing tables) or wipe it.
    const second = openSqliteStore(dbPath);
    try {
      expect(second.db.pragma("user_version", { simple: true })).toBe(newest);
      expect((await second.aggregates.get(id))?.name).toBe("survivor");
      expect(second.db.pragma("journal_mode", { simple: true })).toBe("wal");
      expect(second.db.pragma("synchronous", { simple: true })).toBe(2); // FULL
    } finally {
      await second.close();
    }
  });

  it("refuses a database from a newer controller", async () => {
    const dbPath = join(dir, "newer.db");
    const s = openSqliteStore(dbPath);
    s.db.pragma("user_version = 99");
    await s.close();
    expect(() => openSqliteStore(dbPath)).toThrow(/newer/);
  });
});
