/**
 * Starts the controller in-process: store, API services, gRPC and Connect/JSON endpoints (with
 * /metrics). Its health (grpc.health.v1) is NOT_SERVING until everything is started, while it
 * drains, and while the store's probe fails.
 */
import { hostname } from "node:os";
import { AgentRegistryService } from "../gen/hostaggregates/v1/agent_registry_pb.js";
import { AggregateService } from "../gen/hostaggregates/v1/aggregate_pb.js";
import { EventService } from "../gen/hostaggregates/v1/event_pb.js";
import { HostService } from "../gen/hostaggregates/v1/host_pb.js";
import { OperationService } from "../gen/hostaggregates/v1/operation_pb.js";
import { tokenAuthenticator, type TokenRegistry } from "../shared/auth.js";
import type { HostPort } from "../shared/address.js";
import { createLogger, type Logger } from "../shared/logging.js";
import { startRpcServer, type HttpRoute } from "../shared/rpc/server.js";
import { registerService } from "../shared/rpc/service-registration.js";
import type { ServerTls } from "../shared/tls.js";
import { agentRegistryService } from "./api/agent-registry-service.js";
import { aggregateService } from "./api/aggregate-service.js";
import { eventService } from "./api/event-service.js";
import { hostService } from "./api/host-service.js";
import { operationService } from "./api/operation-service.js";
import { consoleRoute, defaultConsoleDir } from "./console.js";
import type { ControllerContext, HostReportListener, IntakeContext } from "./context.js";
import type { CrashHook } from "./engine/crash-hook.js";
import { Engine } from "./engine/engine.js";
import { LeaseKeeper } from "./leases/lease-keeper.js";
import { createControllerMetrics } from "./metrics/index.js";
import { KnownCapacity } from "./model/known-capacity.js";
import { operationSpecs } from "./operations/index.js";
import { AgentDirectory, type AgentCredentials } from "./pool/agent-directory.js";
import { novaRoutes } from "./rest/nova-routes.js";
import { isPostgresUrl } from "./store/database-url.js";
import { openStore } from "./store/open-store.js";
import { MasterFailureDetector, masterFailureSettings } from "./watchers/master-failure-detector.js";
import { Reconciler } from "./watchers/reconciler.js";

/** Options of startController. */
export interface ControllerOptions {
  /** gRPC listen address (default 127.0.0.1:50051; port 0 picks one). */
  grpcListen?: string;
  /** Connect/JSON listen address; none when undefined. */
  httpListen?: string;
  /** SQLite database path, or a postgres://USER@HOST:PORT/DB URL (store/open-store.ts). */
  dbPath: string;
  tokens: TokenRegistry;
  tls?: ServerTls;
  log?: Logger;
  /** Heartbeat interval told to agents (default 10 s). */
  heartbeatIntervalMs?: number;
  /** How the controller authenticates to agents (the agent token, or a client certificate). */
  agentCredentials?: AgentCredentials;
  /** Deadline of one operation step (default 15 min). */
  stepTimeoutMs?: number;
  /** First retry delay of a transient step failure (default 1 s). */
  retryDelayMs?: number;
  /** How often the reconciler compares records with pools (default 60 s; 0 disables). */
  reconcileIntervalMs?: number;
  /** How often the master-failure detector checks pool masters (default: the heartbeat interval; 0 disables it). */
  masterCheckIntervalMs?: number;
  /** How long a master must stay unreachable before it is declared failed (default: six heartbeat intervals). */
  masterFailureThresholdMs?: number;
  /** How often the database is probed while a health Watch is open (default 5 s). */
  healthProbeIntervalMs?: number;
  /** Test hook: kill the process at a chosen step. */
  crashHook?: CrashHook;
  /** Extra HTTP routes on the HTTP port. */
  httpRoutes?: (ctx: IntakeContext) => HttpRoute[];
  /** Also export process and Node.js metrics on /metrics (the daemon does; default off in-process, see shared/metrics/registry.ts). */
  processMetrics?: boolean;
  /** Folder of the built web console served under /ui/ (default dist/ui/; false: no console). */
  consoleDir?: string | false;
  /** This controller's name among the replicas of one database (default HOSTNAME:PORT, the bound gRPC port). */
  replicaId?: string;
  /** How long an aggregate's lease lasts unless renewed (default 10 s). */
  leaseTtlMs?: number;
  /** How often the engine looks for operations it does not run yet (default 500 ms). */
  workPollMs?: number;
}

/** A running controller. */
export interface Controller {
  grpcAddress: HostPort;
  httpAddress?: HostPort;
  /** This controller's name among the replicas (the holder of its leases). */
  replicaId: string;
  context: IntakeContext;
  engine: Engine;
  /** This replica's leases. */
  leases: LeaseKeeper;
  reconciler: Reconciler;
  masterFailureDetector: MasterFailureDetector;
  /** Reports NOT_SERVING (draining), finishes in-flight calls, then closes the endpoints and the database. */
  close(graceMs?: number): Promise<void>;
}

/** Opens the store and serves the API. */
export async function startController(options: ControllerOptions): Promise<Controller> {
  const log = options.log ?? createLogger("controller");
  const store = await openStore(options.dbPath);
  // SQLite's lock file proves every earlier controller on the file dead: its leases are taken over at once.
  const leases = new LeaseKeeper(store.leases, { ttlMs: options.leaseTtlMs ?? 10_000, takeOverAtOnce: !isPostgresUrl(options.dbPath) }, log);
  const metrics = createControllerMetrics({ store, tokens: options.tokens, processMetrics: options.processMetrics });
  const agents = new AgentDirectory(options.agentCredentials ?? {});
  const base: ControllerContext = {
    store,
    log,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 10_000,
    agents,
    knownCapacity: new KnownCapacity(),
    metrics: metrics.port,
    leases,
  };
  const engine = new Engine(
    base,
    operationSpecs,
    {
      stepTimeoutMs: options.stepTimeoutMs ?? 15 * 60_000,
      retryDelayMs: options.retryDelayMs ?? 1000,
      crashHook: options.crashHook,
      pollMs: options.workPollMs ?? 500,
    },
  );
  // Agents' reports go to the master-failure detector (built below, on this context), which fences at once.
  const reportListeners: HostReportListener[] = [];
  const hostReports: HostReportListener = { reported: (host, facts, kind) => reportListeners.forEach((l) => l.reported(host, facts, kind)) };
  const context: IntakeContext = { ...base, engine, hostReports };
  const reconciler = new Reconciler(base, { intervalMs: options.reconcileIntervalMs ?? 60_000, heartbeatIntervalMs: base.heartbeatIntervalMs });
  const masterFailureDetector = new MasterFailureDetector(
    context,
    masterFailureSettings(base.heartbeatIntervalMs, { intervalMs: options.masterCheckIntervalMs, failureThresholdMs: options.masterFailureThresholdMs }),
  );
  reportListeners.push(masterFailureDetector);
  const admin = ["admin"] as const;
  const server = await startRpcServer({
    grpcListen: options.grpcListen ?? "127.0.0.1:50051",
    httpListen: options.httpListen,
    authenticator: tokenAuthenticator(options.tokens, "agent"),
    log,
    tls: options.tls,
    httpRoutes: [
      metrics.route,
      ...novaRoutes(context, options.tokens),
      ...(options.consoleDir === false ? [] : [consoleRoute(options.consoleDir ?? defaultConsoleDir)]),
      ...(options.httpRoutes?.(context) ?? []),
    ],
    // The API services are only as healthy as the database.
    healthProbe: { check: () => store.probe(), intervalMs: options.healthProbeIntervalMs },
    services: [
      registerService(AggregateService, aggregateService(context), admin),
      registerService(HostService, hostService(context), admin),
      registerService(OperationService, operationService(context), admin),
      registerService(EventService, eventService(context), admin),
      registerService(AgentRegistryService, agentRegistryService(context), ["agent"]),
    ],
  }).catch(async (err: unknown) => {
    await store.close();
    throw err;
  });
  const replicaId = options.replicaId ?? `${hostname()}:${server.grpcAddress.port}`;
  try {
    await store.claimReplica(replicaId);
    await leases.start(replicaId);
    agents.actFor(replicaId);
  } catch (err) {
    await server.close(0);
    await store.close();
    throw err;
  }
  void engine.resume();
  reconciler.start();
  masterFailureDetector.start();
  server.health.setServing();
  return {
    grpcAddress: server.grpcAddress,
    httpAddress: server.httpAddress,
    replicaId,
    context,
    engine,
    leases,
    reconciler,
    masterFailureDetector,
    async close(graceMs) {
      await server.close(graceMs);
      await masterFailureDetector.close();
      await reconciler.close();
      await engine.close();
      await leases.close();
      await store.close();
    },
  };
}
