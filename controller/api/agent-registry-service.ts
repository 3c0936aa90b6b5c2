/** AgentRegistryService handlers (agents only): decode → intake. */
import { create, toBinary, toJsonString } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { AgentRegistryService, HeartbeatResponseSchema } from "../../gen/hostaggregates/v1/agent_registry_pb.js";
import { encodedAnswer, preEncoded } from "../../shared/rpc/encoded-message.js";
import type { IntakeContext } from "../context.js";
import { heartbeat } from "../intake/heartbeat.js";
import { registerHost } from "../intake/register-host.js";
import { hostMessage } from "./convert.js";

/** Handlers of AgentRegistryService. */
export function agentRegistryService(ctx: IntakeContext): ServiceImpl<typeof AgentRegistryService> {
  const heartbeatInterval = () => durationFromMs(ctx.heartbeatIntervalMs);
  // A heartbeat has two possible answers, sent encoded once (a fleet heartbeats ~100 times a second).
  const heartbeatAnswers = [false, true].map((reregister) => {
    const answer = create(HeartbeatResponseSchema, { heartbeatInterval: heartbeatInterval(), reregister });
    return encodedAnswer(HeartbeatResponseSchema, preEncoded(toBinary(HeartbeatResponseSchema, answer), () => toJsonString(HeartbeatResponseSchema, answer)));
  });
  return {
    async registerHost(req) {
      return { host: hostMessage(await registerHost(ctx, req)), heartbeatInterval: heartbeatInterval() };
    },
    async heartbeat(req) {
      return heartbeatAnswers[Number(!(await heartbeat(ctx, req)))]!;
    },
  };
}
