/**
 * Test harness: a real controller in this process, on loopback port 0, with a throw-away
 * SQLite database (PostgreSQL with AGGREGATES_TEST_DB=postgres: test/support/postgres.ts), an
 * admin token and an agent token, and typed gRPC clients for every service.
 *
 *   const h = await startTestController();
 *   await h.aggregates.createAggregate({ name: "a" });
 *   await h.close(); // closes the controller and deletes its temp directory
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DescService, MessageInitShape } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { AgentRegistryService, type RegisterHostRequest, type RegisterHostRequestSchema } from "../../gen/hostaggregates/v1/agent_registry_pb.js";
import { AggregateService } from "../../gen/hostaggregates/v1/aggregate_pb.js";
import { EventService } from "../../gen/hostaggregates/v1/event_pb.js";
import { HostService, type HostCapacitySchema, type PoolFactsSchema } from "../../gen/hostaggregates/v1/host_pb.js";
import { OperationService } from "../../gen/hostaggregates/v1/operation_pb.js";
import { startController, type Controller, type ControllerOptions } from "../../controller/server.js";
import { formatHostPort } from "../../shared/address.js";
import { TokenRegistry } from "../../shared/auth.js";
import { silentLogger } from "../../shared/logging.js";
import { createRpcClient } from "../../shared/rpc/client.js";
import { adoptedByRepair, beginJoin } from "../../controller/model/lifecycle.js";
import { testDatabaseFromEnv } from "./postgres.js";

/** Token accepted with the admin role by harness controllers. */
export const testAdminToken = "test-admin-token";
/** Token accepted with the agent role by harness controllers. */
export const testAgentToken = "test-agent-token";

/** A running in-process controller and clients of it. */
export interface TestController {
  controller: Controller;
  /** Temp directory holding the database; deleted by close(). */
  dir: string;
  dbPath: string;
  adminToken: string;
  agentToken: string;
  /** "127.0.0.1:PORT" of the gRPC endpoint. */
  grpcEndpoint: string;
  /** "http://127.0.0.1:PORT" of the Connect/JSON endpoint. */
  httpUrl: string;
  /** Admin-token clients. */
  aggregates: Client<typeof AggregateService>;
  hosts: Client<typeof HostService>;
  operations: Client<typeof OperationService>;
  events: Client<typeof EventService>;
  /** Agent-token client. */
  registry: Client<typeof AgentRegistryService>;
  /** A new gRPC client of any service with any token (none when undefined). */
  client<S extends DescService>(service: S, token?: string): Client<S>;
  /** Closes the controller (idempotent) and removes the temp directory. */
  close(): Promise<void>;
}

/**
 * Starts a controller; options override the harness defaults: loopback port 0 for gRPC and HTTP,
 * a temp-dir database, the two test tokens, a silent log, the reconciler off (reconcileIntervalMs 0;
 * call controller.reconciler.tick() to run a pass), and the agent token towards agents.
 */
export async function startTestController(options: Partial<ControllerOptions> = {}): Promise<TestController> {
  const dir = await mkdtemp(join(tmpdir(), "aggregates-test-"));
  const dbPath = (await testDatabaseFromEnv()) ?? join(dir, "controller.db");
  const tokens = new TokenRegistry().add(testAdminToken, "admin").add(testAgentToken, "agent");
  let controller: Controller;
  try {
    controller = await startController({
      grpcListen: "127.0.0.1:0",
      httpListen: "127.0.0.1:0",
      dbPath,
      tokens,
      log: silentLogger,
      reconcileIntervalMs: 0,
      agentCredentials: { token: testAgentToken },
      ...options,
    });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const grpcEndpoint = formatHostPort(controller.grpcAddress);
  const client = <S extends DescService>(service: S, token?: string) => createRpcClient(service, { endpoint: grpcEndpoint, token });
  let closing: Promise<void> | undefined;
  return {
    controller,
    dir,
    dbPath,
    adminToken: testAdminToken,
    agentToken: testAgentToken,
    grpcEndpoint,
    httpUrl: controller.httpAddress ? `http://${formatHostPort(controller.httpAddress)}` : "",
    aggregates: client(AggregateService, testAdminToken),
    hosts: client(HostService, testAdminToken),
    operations: client(OperationService, testAdminToken),
    events: client(EventService, testAdminToken),
    registry: client(AgentRegistryService, testAgentToken),
    client,
    close: () =>
      (closing ??= (async () => {
        try {
          await controller.close();
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      })()),
  };
}

/** Fields of a RegisterHost request to override. */
export type RegistrationOverrides = Partial<Omit<RegisterHostRequest, "$typeName" | "$unknown" | "capacity" | "pool">> & {
  capacity?: MessageInitShape<typeof HostCapacitySchema>;
  pool?: MessageInitShape<typeof PoolFactsSchema>;
};

/** An agent endpoint where nothing listens: operations on such hosts see their agent as unreachable. */
export const unreachableAgentEndpoint = "127.0.0.1:1";

/** A valid RegisterHost request for a host name (its agent unreachable unless overridden). */
export function hostRegistration(name: string, overrides: RegistrationOverrides = {}): MessageInitShape<typeof RegisterHostRequestSchema> {
  return {
    name,
    xapiAddress: "192.0.2.10",
    agentEndpoint: unreachableAgentEndpoint,
    capacity: { memoryTotalBytes: 64n << 30n, memoryFreeBytes: 48n << 30n, runningVms: 0, cpuVendor: "GenuineIntel" },
    agentVersion: "test",
    ...overrides,
  };
}

/**
 * Test setup only: records a host as a member of an aggregate directly in the store,
 * bypassing AddHost (which would start a pool operation through the host's agent), disabled unless `enabled`
 * (SetHostEnabled would ask the pool's agents). Never a model for product code.
 */
export async function putHostInAggregate(h: TestController, host: string, aggregateId: bigint | number, enabled = false): Promise<void> {
  await h.controller.context.store.transaction(async (tx) => {
    await tx.hosts.apply(host, beginJoin(Number(aggregateId)));
    await tx.hosts.apply(host, adoptedByRepair(enabled));
  });
}

/** Resolves once the wall clock has moved past a time (ms), so a later write gets a later timestamp. */
export async function clockPast(ms: number): Promise<void> {
  while (Date.now() <= ms) await new Promise((resolve) => setImmediate(resolve));
}
