/**
 * What the controller's parts share, as narrow ports: the store, the log, settings, the agents,
 * and the engine's scheduling port. Wiring (server.ts) builds it once; nothing assigns to it later.
 */
import type { Client } from "@connectrpc/connect";
import type { PoolAgentService } from "../gen/hostaggregates/agent/v1/pool_agent_pb.js";
import type { Logger } from "../shared/logging.js";
import type { KnownCapacity } from "./model/known-capacity.js";
import type { HostRecord, OperationRecord } from "./model/records.js";
import type { Store } from "./store/store.js";

/** A PoolAgentService client. */
export type AgentClient = Client<typeof PoolAgentService>;

/** Finds the agent of a host. */
export interface AgentLookup {
  forHost(host: Pick<HostRecord, "name" | "agentEndpoint">): AgentClient;
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

/** What every part of the controller gets. */
export interface ControllerContext {
  store: Store;
  log: Logger;
  /** Heartbeat interval told to agents. */
  heartbeatIntervalMs: number;
  agents: AgentLookup;
  /** Members' last complete capacity (for choosing a new master by free memory). */
  knownCapacity: KnownCapacity;
}

/** What request intake gets: the context and the engine's scheduling port. */
export interface IntakeContext extends ControllerContext {
  engine: OperationScheduler;
}
