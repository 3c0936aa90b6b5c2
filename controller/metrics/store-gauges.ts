/**
 * Gauges read from the store when /metrics is scraped (collect callbacks over the async store
 * port), so no part of the controller writes them: hosts by liveness, heartbeat age per host,
 * unfinished operations, migrations in flight. The callbacks of one scrape share one read of the
 * store. (The pool state per aggregate is too many series for a gauge: pool-state-family.ts.)
 */
import { Gauge, type Registry } from "prom-client";
import { metricPrefix } from "../../shared/metrics/registry.js";
import type { HostRecord, LivenessName, OperationKindName, OperationRecord } from "../model/records.js";
import type { Store } from "../store/store.js";

const livenesses: readonly LivenessName[] = ["ALIVE", "XAPI_UNREACHABLE", "UNREACHABLE", "FAILED"];
const kinds: readonly OperationKindName[] = ["ADD_HOST", "REMOVE_HOST", "START_MAINTENANCE", "STOP_MAINTENANCE", "RECOVER_MASTER", "ROLLING_MAINTENANCE"];
const pageSize = 500;

/** What one scrape reads. */
interface Snapshot {
  hosts: HostRecord[];
  unfinished: OperationRecord[];
  at: number;
}

async function readSnapshot(store: Store): Promise<Snapshot> {
  const hosts: HostRecord[] = [];
  for (let afterName = ""; ; ) {
    const page = await store.hosts.list({ afterName, limit: pageSize });
    hosts.push(...page);
    if (page.length < pageSize) break;
    afterName = page.at(-1)!.name;
  }
  return { hosts, unfinished: await store.operations.unfinished(), at: Date.now() };
}

/** Registers the store-backed gauges in the registry. */
export function registerStoreGauges(registry: Registry, store: Store): void {
  let pending: Promise<Snapshot> | undefined;
  // Every collect of one scrape starts before the first read settles, so they share it.
  const snapshot = () => (pending ??= readSnapshot(store).finally(() => (pending = undefined)));
  const registers = [registry];

  new Gauge({
    name: `${metricPrefix}hosts`,
    help: "Registered hosts by liveness (ALIVE, XAPI_UNREACHABLE, UNREACHABLE, FAILED).",
    labelNames: ["liveness"],
    registers,
    async collect() {
      const { hosts } = await snapshot();
      this.reset();
      for (const liveness of livenesses) this.set({ liveness }, hosts.filter((h) => h.liveness === liveness).length);
    },
  });

  new Gauge({
    name: `${metricPrefix}host_heartbeat_age_seconds`,
    help: "Seconds since each host's agent last sent a heartbeat (hosts that never sent one are absent).",
    labelNames: ["host"],
    registers,
    async collect() {
      const { hosts, at } = await snapshot();
      this.reset();
      for (const h of hosts) {
        if (h.lastHeartbeatAt) this.set({ host: h.name }, Math.max(0, (at - Date.parse(h.lastHeartbeatAt)) / 1000));
      }
    },
  });

  new Gauge({
    name: `${metricPrefix}operations_unfinished`,
    help: "Operations not yet ended, by kind and state (PENDING, RUNNING).",
    labelNames: ["kind", "state"],
    registers,
    async collect() {
      const { unfinished } = await snapshot();
      this.reset();
      for (const kind of kinds) {
        for (const state of ["PENDING", "RUNNING"] as const) this.set({ kind, state }, unfinished.filter((o) => o.kind === kind && o.state === state).length);
      }
    },
  });

  new Gauge({
    name: `${metricPrefix}migrations_in_flight`,
    help: "Live migrations of evacuations and rebalances currently under way (moves recorded as MIGRATING).",
    registers,
    async collect() {
      const { unfinished } = await snapshot();
      this.set(unfinished.reduce((n, o) => n + (o.evacuation?.moves.filter((m) => m.state === "MIGRATING").length ?? 0), 0));
    },
  });
}
