/** Clients of the agents' PoolAgentService, one shared transport per agent endpoint. */
import { Code, ConnectError, type Interceptor, type Transport } from "@connectrpc/connect";
import { PoolAgentService } from "../../gen/hostaggregates/agent/v1/pool_agent_pb.js";
import { agentUnavailable, answeredByPeer, withAgentFailure } from "../../shared/agent-errors.js";
import { createRpcClient, createRpcTransport } from "../../shared/rpc/client.js";
import type { ClientTls } from "../../shared/tls.js";
import type { AgentCallOptions, AgentClient, AgentLookup } from "../context.js";
import type { HostRecord } from "../model/records.js";

/** How the controller authenticates to agents: the agent token, or a client certificate under mTLS. */
export interface AgentCredentials {
  token?: string;
  tls?: ClientTls;
}

/**
 * An agent refusing the controller's own credential is a configuration problem of the controller,
 * not of the admin calling it: report it as INTERNAL with what to check, never as the caller's
 * UNAUTHENTICATED / PERMISSION_DENIED.
 */
function controllerCredentialProblem(hostName: string): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (err) {
      if (err instanceof ConnectError && (err.code === Code.Unauthenticated || err.code === Code.PermissionDenied)) {
        throw new ConnectError(
          `the agent of host "${hostName}" refused the controller's credential (${err.rawMessage}); check --agent-token-file / --agent-cert on the controller`,
          Code.Internal,
        );
      }
      throw err;
    }
  };
}

/**
 * An agent call that ends UNAVAILABLE says which host's agent failed and whether it answered at all,
 * so an admin client is not told the controller is down (shared/agent-errors.ts).
 */
function agentFailure(hostName: string): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (err) {
      if (err instanceof ConnectError && err.code === Code.Unavailable) {
        throw withAgentFailure(err, { reason: answeredByPeer(err) ? "AGENT_UNAVAILABLE" : "AGENT_UNREACHABLE", hosts: [hostName] });
      }
      throw err;
    }
  };
}

/** The header that names the replica an agent call is made for (the agents log it on every change they accept). */
export const replicaHeader = "x-aggregates-replica";

/** A transport that runs `before` synchronously right before each call and sends the replica header. */
function callsOf(transport: Transport, options: AgentCallOptions): Transport {
  const { beforeEachCall, replicaId } = options;
  const header = (init: HeadersInit | undefined) => {
    const h = new Headers(init);
    if (replicaId !== undefined) h.set(replicaHeader, replicaId);
    return h;
  };
  return {
    async unary(method, signal, timeoutMs, init, input, contextValues) {
      beforeEachCall?.();
      return transport.unary(method, signal, timeoutMs, header(init), input, contextValues);
    },
    async stream(method, signal, timeoutMs, init, input, contextValues) {
      beforeEachCall?.();
      return transport.stream(method, signal, timeoutMs, header(init), input, contextValues);
    },
  };
}

/** Finds the agent of a host. */
export class AgentDirectory implements AgentLookup {
  private readonly transports = new Map<string, Transport>();
  private replicaId?: string;

  constructor(private readonly credentials: AgentCredentials) {}

  /** Names this replica on every call from now on, also on calls made outside an operation's lease (intake, reads). */
  actFor(replicaId: string): void {
    this.replicaId = replicaId;
  }

  /** The client of a host's agent. */
  forHost(host: Pick<HostRecord, "name" | "agentEndpoint">, given?: AgentCallOptions): AgentClient {
    const options = this.replicaId === undefined ? given : { replicaId: this.replicaId, ...given };
    if (!host.agentEndpoint) throw agentUnavailable(`host "${host.name}" has no agent endpoint`, [host.name]);
    let transport = this.transports.get(host.agentEndpoint);
    if (!transport) {
      transport = createRpcTransport(
        { endpoint: host.agentEndpoint, token: this.credentials.token, tls: this.credentials.tls },
        [controllerCredentialProblem(host.name), agentFailure(host.name)],
      );
      this.transports.set(host.agentEndpoint, transport);
    }
    return createRpcClient(PoolAgentService, options ? callsOf(transport, options) : transport);
  }
}
