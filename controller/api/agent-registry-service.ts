/** AgentRegistryService handlers (agents only): decode → intake. */
import type { ServiceImpl } from "@connectrpc/connect";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { AgentRegistryService } from "../../gen/hostaggregates/v1/agent_registry_pb.js";
import type { IntakeContext } from "../context.js";
import { heartbeat } from "../intake/heartbeat.js";
import { registerHost } from "../intake/register-host.js";
import { hostMessage } from "./convert.js";

/** Handlers of AgentRegistryService. */
export function agentRegistryService(ctx: IntakeContext): ServiceImpl<typeof AgentRegistryService> {
  const heartbeatInterval = () => durationFromMs(ctx.heartbeatIntervalMs);
  return {
    async registerHost(req) {
      return { host: hostMessage(await registerHost(ctx, req)), heartbeatInterval: heartbeatInterval() };
    },
    async heartbeat(req) {
      return { heartbeatInterval: heartbeatInterval(), reregister: !await heartbeat(ctx, req) };
    },
  };
}
