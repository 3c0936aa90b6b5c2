/** AgentRegistryService handlers (agents only). */
import type { ServiceImpl } from "@connectrpc/connect";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { AgentRegistryService } from "../../gen/hostaggregates/v1/agent_registry_pb.js";
import { failedPrecondition } from "../../shared/errors.js";
import { assertValid } from "../intake/aggregates.js";
import { capacityRecord, nowIso, poolFactsRecord, validateRegistration } from "../intake/hosts.js";
import { checkHostName, violations } from "../model/validation.js";
import { recordEvent } from "../store/record-event.js";
import { hostMessage } from "./convert.js";
import type { ControllerContext } from "../context.js";

/** Handlers of AgentRegistryService over the controller context. */
export function agentRegistryService(ctx: ControllerContext): ServiceImpl<typeof AgentRegistryService> {
  const { store, log } = ctx;
  return {
    registerHost(req) {
      validateRegistration(req);
      ctx.heartbeats.flush();
      const facts = poolFactsRecord(req.pool);
      const host = store.transaction(() => {
        const known = store.hosts.get(req.name);
        if (known?.aggregateId != null && known.uuid && facts?.hostUuid && facts.hostUuid !== known.uuid) {
          // A host in a pool cannot silently become another machine: that would aim pool operations at it.
          throw failedPrecondition(
            `host "${req.name}" is in aggregate ${known.aggregateId} as XenServer host ${known.uuid}; a registration as ${facts.hostUuid} is refused (remove it from the aggregate first)`,
          );
        }
        const isNew = store.hosts.register(
          {
            name: req.name,
            uuid: facts?.hostUuid || null,
            xapiAddress: req.xapiAddress,
            agentEndpoint: req.agentEndpoint,
            azHint: req.availabilityZoneHint || null,
            capacity: capacityRecord(req.capacity),
            poolFacts: facts,
          },
          nowIso(),
        );
        if (isNew) recordEvent(ctx, { kind: "host.registered", host: req.name, message: `host ${req.name} registered (disabled)` });
        return store.hosts.get(req.name)!;
      });
      log.info("host registered", { host: req.name, agentEndpoint: req.agentEndpoint });
      return { host: hostMessage(host), heartbeatInterval: durationFromMs(ctx.heartbeatIntervalMs) };
    },
    heartbeat(req) {
      assertValid(violations(checkHostName(req.name, "name")));
      const known = ctx.heartbeats.record(req.name, capacityRecord(req.capacity), poolFactsRecord(req.pool), nowIso());
      return { heartbeatInterval: durationFromMs(ctx.heartbeatIntervalMs), reregister: !known };
    },
  };
}
