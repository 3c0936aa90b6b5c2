/**
 * What the controller's parts share, as narrow ports: the store, the log, settings, the agents,
 * the metrics counters, and the engine's scheduling port. Wiring (server.ts) builds it once; nothing assigns to it later.
 */
import type { Client } from "@connectrpc/connect";
import type { PoolAgentService } from "../gen/hostaggregates/agent/v1/pool_agent_pb.js";
import type { Logger } from "../shared/logging.js";
import type { HeldLease } from "./leases/lease-keeper.js";
import type { KnownCapacity } from "./model/known-capacity.js";
import type { HostRecord, OperationKindName, OperationRecord, OperationStateName, PoolFactsRecord, StepStateName } from "./model/records.js";
import type { Store } from "./store/store.js";

/** A PoolAgentService client. */
export type AgentClient = Client<typeof PoolAgentService>;

/** How the calls of one client are made. */
export interface AgentCallOptions {
  /** Runs synchronously right before each call is sent; throwing stops the call (a lost lease). */
  beforeEachCall?: () => void;
  /** The replica on whose behalf the calls are made (sent as the x-aggregates-replica header). */
  replicaId?: string;
}

/** Finds the agent of a host. */
export interface AgentLookup {
  forHost(host: Pick<HostRecord, "name" | "agentEndpoint">, options?: AgentCallOptions): AgentClient;
}

/** This replica's leases (leases/lease-keeper.ts). */
export interface LeaseTaker {
  /** The aggregate's lease (0: the fleet lease), held or newly taken; undefined while another replica holds it. */
  take(aggregateId: number): Promise<HeldLease | undefined>;
}

/** Runs accepted operations (the engine). */
export interface OperationScheduler {
  /** Queues an accepted operation behind the others of its aggregate. */
  schedule(op: Pick<OperationRecord, "id" | "aggregateId" | "kind">): void;
  /** Ends a still-PENDING operation as CANCELLED at once (its intent undone). */
  cancelPending(id: string): Promise<void>;
  /** Aborted when the controller shuts down (for calls made while accepting a request). */
  readonly shutdown: AbortSignal;
}

/** How one live migration attempt ended, as the metrics count it. */
export type MigrationResult = "succeeded" | "failed" | "retried";

/** How a confirmed master failure is handled. */
export type MasterFailureHandling = "automatic" | "operator";

/**
 * What the engine, the migrations and the master-failure detector count (Prometheus counters and
 * histograms, implemented in metrics/). Gauges are not written here: they are read from the store
 * when /metrics is scraped.
 */
export interface ControllerMetrics {
  /** An operation reached a terminal state. */
  operationEnded(kind: OperationKindName, result: OperationStateName): void;
  /** A step of an operation ended (never called for a step interrupted by a shutdown). */
  stepEnded(kind: OperationKindName, step: string, state: StepStateName, seconds: number): void;
  /** A live migration attempt ended; bytes: the VM memory moved (0 unless it succeeded and really moved). */
  migrationEnded(result: MigrationResult, bytes: number): void;
  /** A pool master became unreachable from the controller: a master-failure episode began. */
  masterFailureEpisodeBegan(): void;
  /** An episode was confirmed as a master failure (once per episode). */
  masterFailureConfirmed(handling: MasterFailureHandling): void;
}

/** What every part of the controller gets. */
export interface ControllerContext {
  store: Store;
  log: Logger;
  /** Heartbeat interval told to agents. */
  heartbeatIntervalMs: number;
  agents: AgentLookup;
  /** Members' last complete capacity (for choosing a new master by free memory). */
  knownCapacity: KnownCapacity;
  /** Counters and histograms (the engine, migrations, the master-failure detector). */
  metrics: ControllerMetrics;
  /** The leases under which operations and watchers act on an aggregate (leases/leased-context.ts). */
  leases: LeaseTaker;
}

/** Hears about agents' reports as intake accepts them, so a watcher can act on a change at once. */
export interface HostReportListener {
  /** The agent of `host` registered or heartbeated with these pool facts (null: it sent none). */
  reported(host: string, facts: PoolFactsRecord | null, kind: "registration" | "heartbeat"): void;
}

/** What request intake gets: the context, the engine's scheduling port, and the listener of agent reports. */
export interface IntakeContext extends ControllerContext {
  engine: OperationScheduler;
  hostReports: HostReportListener;
}
