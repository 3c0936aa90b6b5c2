/**
 * RegisterHost (agents only): validate, refuse a second agent under the name of a host whose agent
 * is alive elsewhere, refuse a pooled host re-registering as another machine, insert or refresh —
 * one transaction.
 */
import type { MessageShape } from "@bufbuild/protobuf";
import type { RegisterHostRequestSchema } from "../../gen/hostaggregates/v1/agent_registry_pb.js";
import { parseHostPort } from "../../shared/address.js";
import { alreadyExists, failedPrecondition, type FieldViolation } from "../../shared/errors.js";
import type { ControllerContext, IntakeContext } from "../context.js";
import { heartbeatAgeMs, heartbeatsFresh } from "../model/liveness.js";
import { nowIso, type HostRecord } from "../model/records.js";
import { checkAvailabilityZone, checkCapacity, checkHostName, violations } from "../model/validation.js";
import { askRegisteredAgent } from "../pool/agent-holder.js";
import { capacityRecord, poolFactsRecord } from "./host-reports.js";
import { assertValid } from "./lookups.js";

/** Validates RegisterHost fields. */
function validateRegistration(r: Pick<MessageShape<typeof RegisterHostRequestSchema>, "name" | "xapiAddress" | "agentEndpoint" | "availabilityZoneHint" | "capacity">): void {
  const found: FieldViolation[] = violations(
    checkHostName(r.name, "name"),
    checkCapacity(r.capacity),
    r.availabilityZoneHint !== "" ? checkAvailabilityZone(r.availabilityZoneHint, "availability_zone_hint") : undefined,
  );
  if (r.xapiAddress.length === 0 || r.xapiAddress.length > 255 || /\s/.test(r.xapiAddress)) {
    found.push({ field: "xapi_address", description: "xapi_address must be a host name or IP address (1–255 characters, no blanks)" });
  }
  try {
    parseHostPort(r.agentEndpoint, "agent_endpoint");
  } catch {
    found.push({ field: "agent_endpoint", description: `agent_endpoint must be HOST:PORT (got "${r.agentEndpoint.slice(0, 60)}")` });
  }
  assertValid(found);
}

/** How long the registered endpoint gets to answer before another agent may take the name over. */
const holderProbeTimeoutMs = 1000;

const sameEndpoint = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase();

/**
 * Refuses (ALREADY_EXISTS) a registration from another endpoint while the name's registered agent
 * is alive: it heartbeated within the liveness window and still answers at its endpoint. An agent
 * restarted on the same endpoint, or one replacing an agent that went silent or no longer answers,
 * is accepted.
 */
async function refuseSecondAgent(ctx: ControllerContext, req: { name: string; agentEndpoint: string }): Promise<void> {
  const known = await ctx.store.hosts.get(req.name);
  if (!known?.agentEndpoint || sameEndpoint(known.agentEndpoint, req.agentEndpoint)) return;
  if (!heartbeatsFresh(known, ctx.heartbeatIntervalMs)) return;
  const holder = await askRegisteredAgent(ctx.agents, known, holderProbeTimeoutMs);
  if (!holder.holds) {
    ctx.log.info("host name taken over by a new agent endpoint", { host: req.name, from: known.agentEndpoint, to: req.agentEndpoint, why: holder.detail });
    return;
  }
  const ageS = (heartbeatAgeMs(known) / 1000).toFixed(1);
  ctx.log.warn("refused a second agent under a live host's name", { host: req.name, holder: known.agentEndpoint, refused: req.agentEndpoint });
  throw alreadyExists(
    `host name "${req.name}" is held by a live agent at ${known.agentEndpoint} (last heartbeat ${ageS} s ago; ${holder.detail}); ` +
      `the agent at ${req.agentEndpoint} is refused. Give this agent its own --host-name, or stop the agent at ${known.agentEndpoint} first ` +
      `(the name is free as soon as that endpoint no longer answers)`,
  );
}

/** Registers (or refreshes) a host; a new host starts disabled. */
export async function registerHost(ctx: IntakeContext, req: MessageShape<typeof RegisterHostRequestSchema>): Promise<HostRecord> {
  validateRegistration(req);
  await refuseSecondAgent(ctx, req);
  const { store } = ctx;
  const facts = poolFactsRecord(req.pool);
  const host = await store.transaction(async () => {
    const known = await store.hosts.get(req.name);
    if (known?.aggregateId != null && known.uuid && facts?.hostUuid && facts.hostUuid !== known.uuid) {
      // A host in a pool cannot silently become another machine: that would aim pool operations at it.
      throw failedPrecondition(
        `host "${req.name}" is in aggregate ${known.aggregateId} as XenServer host ${known.uuid}; a registration as ${facts.hostUuid} is refused (remove it from the aggregate first)`,
      );
    }
    const isNew = await store.hosts.register(
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
    if (isNew) await store.events.append({ kind: "host.registered", host: req.name, message: `host ${req.name} registered (disabled)` });
    return (await store.hosts.get(req.name))!;
  });
  ctx.log.info("host registered", { host: req.name, agentEndpoint: req.agentEndpoint });
  ctx.hostReports.reported(req.name, facts, "registration");
  return host;
}
