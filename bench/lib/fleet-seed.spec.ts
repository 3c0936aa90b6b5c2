import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openSqliteStore } from "../../controller/store/sqlite-store.js";
import { fleetHostName } from "./fleet-layout.js";
import { seedFleetDatabase } from "./fleet-seed.js";

describe("seedFleetDatabase", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "fleet-seed-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("leaves the pools as a finished AddHost would: members, a master, the pool ACTIVE; the other aggregates empty", async () => {
    const db = join(dir, "controller.db");
    const ids = await seedFleetDatabase(db, 5, { hosts: 6, pooledHosts: 4 });
    const store = openSqliteStore(db);
    try {
      expect(ids).toHaveLength(5);
      const pooled = await store.aggregates.withHosts({ afterId: 0, limit: 10 });
      expect(pooled.map((a) => [a.id, a.masterHost, a.poolState, a.members])).toEqual([
        [ids[0], fleetHostName(0), "ACTIVE", [{ host: fleetHostName(0), state: "MEMBER" }, { host: fleetHostName(1), state: "MEMBER" }]],
        [ids[1], fleetHostName(2), "ACTIVE", [{ host: fleetHostName(2), state: "MEMBER" }, { host: fleetHostName(3), state: "MEMBER" }]],
      ]);
      expect(await store.aggregates.get(ids[4]!)).toMatchObject({ poolState: "EMPTY", members: [], metadata: { owner: "bench" } });
      // Only the pooled hosts are recorded; the others register through the API.
      expect((await store.hosts.list({ afterName: "", limit: 10 })).map((h) => h.name)).toEqual([0, 1, 2, 3].map(fleetHostName));
    } finally {
      await store.close();
    }
  });
});
