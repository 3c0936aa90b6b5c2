/** Seeds a controller with aggregates through its public API (not measured). */
import { AggregateService } from "../../gen/hostaggregates/v1/aggregate_pb.js";
import { createRpcClient } from "../../shared/rpc/client.js";
import type { ControllerProcess } from "./servers.js";

/** Runs `fn` over items with `limit` at a time. */
export async function inPool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** The seeded aggregates' names, zones and metadata (the Nova section seeds Nova alike). */
export function seedAggregate(i: number): { name: string; availabilityZone: string; metadata: Record<string, string> } {
  return {
    name: `bench-agg-${String(i).padStart(4, "0")}`,
    availabilityZone: `az-${i % 4}`,
    metadata: { owner: "bench", tier: i % 2 ? "gold" : "silver", "rack.row": `r${i % 10}` },
  };
}

/** An admin client of the controller's AggregateService (connect-node gRPC transport). */
export function adminClient(controller: ControllerProcess) {
  return createRpcClient(AggregateService, { endpoint: controller.address, token: controller.adminToken, defaultTimeoutMs: 30_000 });
}

/** Creates `count` aggregates with a zone and three metadata keys each; returns their ids, ascending. */
export async function seedController(controller: ControllerProcess, count: number): Promise<number[]> {
  const api = adminClient(controller);
  const ids: number[] = [];
  await inPool(
    Array.from({ length: count }, (_, i) => i + 1),
    8,
    async (i) => {
      const seed = seedAggregate(i);
      const created = await api.createAggregate({ name: seed.name, availabilityZone: seed.availabilityZone });
      await api.setAggregateMetadata({ id: created.id, metadata: seed.metadata });
      ids.push(Number(created.id));
    },
  );
  return ids.sort((a, b) => a - b);
}
