/**
 * The agent in-process: serves PoolAgentService (agent token or verified controller certificate
 * only) and the public grpc.health.v1 health service, speaks XenAPI to its own host, registers and
 * heartbeats with the controller, and (when asked) serves Prometheus metrics on a listener of its own.
 */
import { hostname } from "node:os";
import { AgentRegistryService } from "../gen/hostaggregates/v1/agent_registry_pb.js";
import { PoolAgentService } from "../gen/hostaggregates/agent/v1/pool_agent_pb.js";
import { formatHostPort, type HostPort } from "../shared/address.js";
import { TokenRegistry, tokenAuthenticator } from "../shared/auth.js";
import { createLogger, type Logger } from "../shared/logging.js";
import { startMetricsServer, type MetricsServer } from "../shared/metrics/http.js";
import { createRpcClient } from "../shared/rpc/client.js";
import { parseHostPortList } from "../shared/rpc/endpoint-list.js";
import { startRpcServer } from "../shared/rpc/server.js";
import { registerService } from "../shared/rpc/service-registration.js";
import type { ClientTls, ServerTls } from "../shared/tls.js";
import { resolveTimings, type AgentTimings } from "./config.js";
import { AgentMetrics } from "./metrics/agent-metrics.js";
import type { BackoffOptions } from "./registry/backoff.js";
import { Registrar, type RegistrarStats } from "./registry/registrar.js";
import { scrubbingLogger } from "./scrubbing-logger.js";
import type { AgentContext } from "./service/agent-context.js";
import { poolAgentService } from "./service/pool-agent-service.js";
import { defaultHookSettings } from "./service/run-hook.js";
import { XapiClient } from "./xapi/client.js";
import { XapiCredentials } from "./xapi/credentials.js";
import { parseXapiUrl } from "./xapi/endpoint.js";
import type { XapiTls } from "./xapi/xmlrpc-transport.js";

/** TLS settings: the agent's own server (with clientCa: mTLS), its client to the controller, and XAPI over https. */
export interface AgentTls {
  server?: ServerTls;
  controller?: ClientTls;
  xapi?: XapiTls;
}

/** Options of startAgent. */
export interface AgentOptions {
  /** gRPC listen address "HOST:PORT" (port 0 picks a free port). */
  listen: string;
  /** host:port the controller should call (default: the listen address with the bound port). */
  advertiseEndpoint?: string;
  /** The host's name in the controller (^[a-zA-Z0-9-._]{1,255}$). */
  hostName: string;
  /** The host's own XAPI, e.g. https://10.0.0.5/ or http://127.0.0.130:PORT/. */
  xapiUrl: string;
  xapiUsername: string;
  xapiPassword: string;
  /** Controller gRPC endpoint "HOST:PORT", or a comma-separated list of replicas' (the agent moves to the next one that answers). */
  controller: string;
  /** Agent token: sent to the controller, and (unless controllerToken is set) required from callers of this agent. */
  token: string;
  /**
   * The controller's own token: when set, callers of this agent must present it instead of the agent
   * token, so a host holding only an agent token cannot drive other hosts' agents.
   */
  controllerToken?: string;
  availabilityZone?: string;
  /** Heartbeat interval until the controller names one (default 10 s). */
  heartbeatIntervalMs?: number;
  /** Poll interval of every wait (default 1 s). */
  pollIntervalMs?: number;
  /** Timeout of one XenAPI call (default 30 s). */
  callTimeoutMs?: number;
  /** Any other timing (wait deadlines). */
  timings?: Partial<AgentTimings>;
  /** Backoff while the controller is unreachable (default 500 ms doubling up to 30 s). */
  controllerBackoff?: Partial<BackoffOptions>;
  log?: Logger;
  tls?: AgentTls;
  /** "HOST:PORT" of a plain-HTTP listener serving GET /metrics without authentication (none when undefined). */
  metricsListen?: string;
  /** Also export process and Node.js metrics (the daemon does; default off in-process, see shared/metrics/registry.ts). */
  processMetrics?: boolean;
  /**
   * Called when the controller refuses the registration for good (another live agent holds the host
   * name): the agent no longer registers or heartbeats; the daemon exits with status 3.
   */
  onRegistrationRefused?: (message: string) => void;
  /** Executables RunHook may run, by name (`--hook NAME=PATH`); none by default. */
  hooks?: ReadonlyMap<string, string>;
  /** Longest run of a hook before it is killed (default 1 h). */
  hookTimeoutMs?: number;
}

/** A running agent. */
export interface Agent {
  /** Where the gRPC server listens. */
  address: HostPort;
  /** host:port the agent registered with the controller. */
  endpoint: string;
  /** Where /metrics is served (with metricsListen). */
  metricsAddress?: HostPort;
  /** Registration counters and the last report (for tests and diagnostics). */
  stats(): RegistrarStats & { xapiEpoch: number; xapiReachable: boolean | undefined };
  /** Reports NOT_SERVING (draining), stops heartbeating, finishes in-flight calls, closes the server and logs out of XAPI. */
  close(): Promise<void>;
}

const hostNamePattern = /^[a-zA-Z0-9-._]{1,255}$/;

/** Starts an agent. */
export async function startAgent(options: AgentOptions): Promise<Agent> {
  if (!hostNamePattern.test(options.hostName)) throw new Error(`host name must match ${hostNamePattern.source}`);
  if (options.token.trim() === "") throw new Error("agent token is empty");
  parseHostPortList(options.controller, "controller");
  const credentials = new XapiCredentials(options.xapiUsername, options.xapiPassword);
  const baseLog = options.log ?? createLogger("agent");
  const log = scrubbingLogger(baseLog, (text) => credentials.scrub(text)).child({ host: options.hostName });
  const timings = resolveTimings({
    ...options.timings,
    ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
    ...(options.callTimeoutMs !== undefined ? { callTimeoutMs: options.callTimeoutMs } : {}),
  });

  const metrics = new AgentMetrics({ hostName: options.hostName, processMetrics: options.processMetrics });
  const xapi = new XapiClient({
    url: parseXapiUrl(options.xapiUrl),
    credentials,
    callTimeoutMs: timings.callTimeoutMs,
    retryDelayMs: timings.pollIntervalMs,
    tls: options.tls?.xapi,
    onRehome: (reason) => log.info("pool session sent back to the own host to rediscover its master", { reason }),
    recorder: metrics,
  });
  const hooks = { hooks: options.hooks ?? new Map<string, string>(), timeoutMs: options.hookTimeoutMs ?? defaultHookSettings.timeoutMs, tailBytes: defaultHookSettings.tailBytes };
  const ctx: AgentContext = { xapi, credentials, hostName: options.hostName, timings, identity: {}, log, hooks };

  if (options.controllerToken !== undefined && options.controllerToken.trim() === "") throw new Error("controller token is empty");
  // Who may call this agent: the controller's own token when configured, else the shared agent token.
  const tokens = new TokenRegistry().add(options.controllerToken ?? options.token, "agent");
  const serverTls = options.tls?.server;
  const metricsServer: MetricsServer | undefined = options.metricsListen ? await startMetricsServer(options.metricsListen, metrics.registry, log) : undefined;
  const server = await startRpcServer({
    grpcListen: options.listen,
    services: [registerService(PoolAgentService, poolAgentService(ctx), ["agent"])],
    authenticator: tokenAuthenticator(tokens, serverTls?.clientCa ? "agent" : undefined),
    log,
    tls: serverTls,
  }).catch(async (err: unknown) => {
    await metricsServer?.close();
    throw err;
  });
  const endpoint = options.advertiseEndpoint ?? advertised(server.grpcAddress, log);

  const registrar = new Registrar({
    ctx,
    client: createRpcClient(AgentRegistryService, { endpoint: options.controller, token: options.token, tls: options.tls?.controller }),
    agentEndpoint: endpoint,
    availabilityZone: options.availabilityZone ?? "",
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 10_000,
    backoff: { initialMs: 500, maxMs: 30_000, ...options.controllerBackoff },
    callTimeoutMs: timings.callTimeoutMs,
    log,
    onRefused: options.onRegistrationRefused,
  });
  metrics.readStatusFrom(() => ({ registrar: registrar.stats, xapiReachable: xapi.monitor.reachable, toolstackRestarts: xapi.monitor.epoch }));
  registrar.start();
  server.health.setServing();
  log.info("agent started", {
    listen: formatHostPort(server.grpcAddress),
    endpoint,
    xapi: xapi.address,
    controller: options.controller,
    ...(metricsServer ? { metrics: formatHostPort(metricsServer.address) } : {}),
  });

  let closing: Promise<void> | undefined;
  return {
    address: server.grpcAddress,
    endpoint,
    metricsAddress: metricsServer?.address,
    stats: () => ({ ...registrar.stats, xapiEpoch: xapi.monitor.epoch, xapiReachable: xapi.monitor.reachable }),
    close: () =>
      (closing ??= (async () => {
        // Health watchers see NOT_SERVING from the first moment of the shutdown.
        server.health.setDraining();
        await registrar.stop();
        await server.close();
        await metricsServer?.close();
        await xapi.close();
        log.info("agent stopped");
      })()),
  };
}

/** The endpoint to advertise for a bound address; a wildcard address is replaced by the machine's host name. */
function advertised(address: HostPort, log: Logger): string {
  if (address.host === "0.0.0.0" || address.host === "::" || address.host === "") {
    const name = hostname();
    log.warn("listening on a wildcard address; advertising the machine name (set advertiseEndpoint to override)", { endpoint: `${name}:${address.port}` });
    return formatHostPort({ host: name, port: address.port });
  }
  return formatHostPort(address);
}
