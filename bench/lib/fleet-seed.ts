/**
 * Seeds a controller database for the `fleet` section through the store's own code (the SQLite
 * store the controller opens, one transaction), before the controller starts: tens of thousands of
 * API calls would take longer than the measurement itself. Aggregates are named and tagged like
 * the API-seeded ones (bench/lib/seed.ts); the pooled hosts are recorded as members of theirs, with
 * the first host of each pool as its master, as a finished AddHost leaves them.
 */
import { create } from "@bufbuild/protobuf";
import { RegisterHostRequestSchema } from "../../gen/hostaggregates/v1/agent_registry_pb.js";
import { capacityRecord, poolFactsRecord } from "../../controller/intake/host-reports.js";
import { beginJoin, confirmMember } from "../../controller/model/lifecycle.js";
import { nowIso } from "../../controller/model/records.js";
import { openSqliteStore } from "../../controller/store/sqlite-store.js";
import { fleetHostName, hostsPerPool, poolOf, registration, type FleetLayout } from "./fleet-layout.js";
import { seedAggregate } from "./seed.js";

/** Creates `aggregates` aggregates and, when a layout is given, its pools in the first of them; returns the aggregates' ids in order. */
export async function seedFleetDatabase(dbPath: string, aggregates: number, layout?: FleetLayout): Promise<number[]> {
  const store = openSqliteStore(dbPath);
  try {
    const now = nowIso();
    const ids: number[] = [];
    await store.transaction(async (tx) => {
      for (let i = 1; i <= aggregates; i++) {
        const seed = seedAggregate(i);
        const id = await tx.aggregates.insert(seed.name, seed.availabilityZone, now);
        if (id === undefined) throw new Error(`aggregate ${seed.name} exists already`);
        await tx.aggregates.setMetadata(id, seed.metadata, [], now);
        ids.push(id);
      }
      if (!layout) return;
      for (let i = 0; i < layout.pooledHosts; i++) {
        const r = create(RegisterHostRequestSchema, registration(layout, i));
        const facts = poolFactsRecord(r.pool);
        await tx.hosts.register(
          { name: r.name, uuid: facts?.hostUuid ?? null, xapiAddress: r.xapiAddress, agentEndpoint: r.agentEndpoint, azHint: null, capacity: capacityRecord(r.capacity), poolFacts: facts },
          now,
        );
        const aggregateId = ids[poolOf(layout, i)!]!;
        await tx.hosts.apply(r.name, beginJoin(aggregateId));
        await tx.hosts.apply(r.name, confirmMember());
        if (i % hostsPerPool === 0) await tx.aggregates.updatePool(aggregateId, { masterHost: fleetHostName(i), poolUuid: facts?.poolUuid ?? null }, now);
      }
    });
    return ids;
  } finally {
    await store.close();
  }
}
