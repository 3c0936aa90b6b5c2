/** Clients of the agents' PoolAgentService, one shared transport per agent endpoint. */
import type { Client, Transport } from "@connectrpc/connect";
import { PoolAgentService } from "../../gen/hostaggregates/agent/v1/pool_agent_pb.js";
import { unavailable } from "../../shared/errors.js";
import { createRpcClient, createRpcTransport } from "../../shared/rpc/client.js";
import type { ClientTls } from "../../shared/tls.js";
import type { HostRecord } from "../domain/records.js";

/** A PoolAgentService client. */
export type AgentClient = Client<typeof PoolAgentService>;

/** How the controller authenticates to agents: the agent token, or a client certificate under mTLS. */
export interface AgentCredentials {
  token?: string;
  tls?: ClientTls;
}

/** Finds the agent of a host. */
export class AgentDirectory {
  private readonly transports = new Map<string, Transport>();

  constructor(private readonly credentials: AgentCredentials) {}

  /** The client of a host's agent. */
  forHost(host: Pick<HostRecord, "name" | "agentEndpoint">): AgentClient {
    if (!host.agentEndpoint) throw unavailable(`host "${host.name}" has no agent endpoint`);
    let transport = this.transports.get(host.agentEndpoint);
    if (!transport) {
      transport = createRpcTransport({ endpoint: host.agentEndpoint, token: this.credentials.token, tls: this.credentials.tls });
      this.transports.set(host.agentEndpoint, transport);
    }
    return createRpcClient(PoolAgentService, transport);
  }
}
