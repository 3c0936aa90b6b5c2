import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:net";
import { eventually } from "../../test/support/eventually.js";
import { AgentDirectory } from "../pool/agent-directory.js";
import { openSqliteStore, type SqliteStore } from "../store/sqlite-store.js";
import type { Lease } from "../store/store.js";
import type { HeldLease } from "./lease-keeper.js";
import { fencedStore, guardedAgents, LeaseLost } from "./leased-context.js";

/** A holding that believes itself valid (a replica paused past its lease does, until it looks). */
function believed(lease: Lease, valid = () => true): HeldLease & { lost: string[] } {
  const lost: string[] = [];
  const controller = new AbortController();
  return { lease, signal: controller.signal, valid, lose: (reason) => (lost.push(reason), controller.abort()), lost };
}

describe("acting under a lease", () => {
  let store: SqliteStore;
  let id: number;
  beforeEach(async () => {
    store = openSqliteStore(":memory:");
    id = (await store.transaction(async (t) => t.aggregates.insert("fenced", null, new Date().toISOString())))!;
  });
  afterEach(async () => store.close());

  it("a fenced transaction commits while the database has the lease, and writes nothing once another holder took it", async () => {
    const lease = (await store.leases.acquire(id, "replica-a", 300))!;
    const held = believed(lease);
    const fenced = fencedStore(store, held);
    await expect(fenced.transaction(async (t) => t.aggregates.update(id, { name: "first" }, new Date().toISOString()))).resolves.toBeUndefined();
    // The lease lapses on the database's clock and goes to another replica; this one has not noticed.
    const taken = await eventually("the lease to lapse", () => store.leases.acquire(id, "replica-b", 60_000), 5_000);
    expect(taken.epoch).toBe(lease.epoch + 1);
    await expect(fenced.transaction(async (t) => t.aggregates.update(id, { name: "late" }, new Date().toISOString()))).rejects.toBeInstanceOf(LeaseLost);
    await expect(fenced.appendEvent({ kind: "late", message: "late", aggregateId: id })).rejects.toBeInstanceOf(LeaseLost);
    expect((await store.aggregates.get(id))!.name).toBe("first");
    expect(await store.events.list({ aggregateId: id, beforeId: Number.MAX_SAFE_INTEGER, limit: 10 })).toEqual([]);
    expect(held.lost).toContain("a fenced write found it expired or taken");
  });

  describe("agent calls", () => {
    let server: Server;
    let endpoint: string;
    let connections = 0;
    beforeEach(async () => {
      connections = 0;
      server = createServer((socket) => (connections++, socket.destroy()));
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      endpoint = `127.0.0.1:${(server.address() as { port: number }).port}`;
    });
    afterEach(async () => new Promise<void>((resolve) => server.close(() => resolve())));

    it("are checked right before they are sent: none leaves once the lease is invalid locally", async () => {
      const lease = (await store.leases.acquire(id, "replica-a", 60_000))!;
      let valid = true;
      const agents = guardedAgents(new AgentDirectory({ token: "t" }), believed(lease, () => valid));
      const client = agents.forHost({ name: "xs1", agentEndpoint: endpoint });
      await expect(client.getHostInfo({}, { timeoutMs: 2000 })).rejects.not.toBeInstanceOf(LeaseLost);
      expect(connections).toBeGreaterThan(0);
      const before = connections;
      valid = false;
      await expect(client.getHostInfo({}, { timeoutMs: 2000 })).rejects.toBeInstanceOf(LeaseLost);
      expect(connections).toBe(before);
    });
  });
});
