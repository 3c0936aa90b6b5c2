/** What the API handlers share: the store, the logger, settings, and the orchestration hooks. */
import type { Logger } from "../shared/logging.js";
import type { AggregateRecord, OperationRecord } from "./model/records.js";

/** A VM resident on a host. */
export interface ResidentVm {
  uuid: string;
  name: string;
  powerState: string;
  memoryBytes: number;
  originHost: string;
}
import type { HeartbeatBatcher } from "./store/heartbeat-batcher.js";
import type { ChangeFeed } from "./store/change-feed.js";
import type { Store } from "./store/store.js";

/** Starts long-running operations; provided once pool orchestration is wired in. */
export interface OperationStarter {
  /** Validates and records AddHost in one transaction, then schedules it. Returns the operation id. */
  addHost(aggregateId: number, host: string): Promise<string>;
  /** Validates and records RemoveHost in one transaction, then schedules it. */
  removeHost(aggregateId: number, host: string): Promise<string>;
  /** Asks a running operation to stop. */
  cancel(operationId: string): void;
  /** Accepts StartMaintenance; a dry run returns the unsaved plan instead of an id. */
  startMaintenance(host: string, options: { validateOnly: boolean; maxParallel: number; allowPartial: boolean }): Promise<string | OperationRecord>;
  /** Accepts StopMaintenance. */
  stopMaintenance(host: string, rebalance: boolean): Promise<string>;
  /** The VMs resident on a host, as its pool reports them, with where maintenance moved them from. */
  residentVms(host: string): Promise<ResidentVm[]>;
  /** Re-reads the real pool and converges the aggregate's record to it. */
  repair(aggregateId: number): Promise<AggregateRecord>;
  /** Accepts RecoverMaster once the master's failure is confirmed through the agents; returns the operation id. */
  recoverMaster(aggregateId: number, newMaster?: string): Promise<string>;
}

/** Shared dependencies of the API handlers. */
export interface ControllerContext {
  store: Store;
  log: Logger;
  /** Announces operation changes and new events to waiting calls. */
  changes: ChangeFeed;
  /** Batched heartbeat writes. */
  heartbeats: HeartbeatBatcher;
  /** Heartbeat interval told to agents. */
  heartbeatIntervalMs: number;
  /** Pool orchestration; when absent, AddHost/RemoveHost validate and answer UNIMPLEMENTED. */
  operations?: OperationStarter;
}
