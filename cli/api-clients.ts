/** The controller clients aggctl uses, from flags and environment. */
import type { Client } from "@connectrpc/connect";
import { AggregateService } from "../gen/hostaggregates/v1/aggregate_pb.js";
import { EventService } from "../gen/hostaggregates/v1/event_pb.js";
import { HostService } from "../gen/hostaggregates/v1/host_pb.js";
import { OperationService } from "../gen/hostaggregates/v1/operation_pb.js";
import { createRpcClient, createRpcTransport } from "../shared/rpc/client.js";
import { loadClientTls } from "../shared/tls.js";

/** Clients of every admin service. */
export interface ApiClients {
  aggregates: Client<typeof AggregateService>;
  hosts: Client<typeof HostService>;
  operations: Client<typeof OperationService>;
  events: Client<typeof EventService>;
}

/** Connection settings. */
export interface ConnectionSettings {
  endpoint: string;
  token?: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

/** Creates the clients over one shared HTTP/2 transport. */
export function connect(settings: ConnectionSettings): ApiClients {
  const transport = createRpcTransport({
    endpoint: settings.endpoint,
    token: settings.token,
    tls: loadClientTls({ ca: settings.caFile, cert: settings.certFile, key: settings.keyFile }),
  });
  return {
    aggregates: createRpcClient(AggregateService, transport),
    hosts: createRpcClient(HostService, transport),
    operations: createRpcClient(OperationService, transport),
    events: createRpcClient(EventService, transport),
  };
}
