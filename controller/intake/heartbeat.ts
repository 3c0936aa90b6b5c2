/** Heartbeat (agents only): validate, queue the report (the store writes heartbeats in batches), tell the report's listener. */
import type { MessageShape } from "@bufbuild/protobuf";
import type { HeartbeatRequestSchema } from "../../gen/hostaggregates/v1/agent_registry_pb.js";
import type { IntakeContext } from "../context.js";
import { nowIso } from "../model/records.js";
import { checkCapacity, checkHostName, violations } from "../model/validation.js";
import { capacityRecord, poolFactsRecord } from "./host-reports.js";
import { assertValid } from "./lookups.js";

/** Records a heartbeat; false when the host is unknown (it must register again). */
export async function heartbeat(ctx: IntakeContext, req: MessageShape<typeof HeartbeatRequestSchema>): Promise<boolean> {
  assertValid(violations(checkHostName(req.name, "name"), checkCapacity(req.capacity)));
  const facts = poolFactsRecord(req.pool);
  const known = await ctx.store.heartbeat(req.name, capacityRecord(req.capacity), facts, nowIso());
  if (known) ctx.hostReports.reported(req.name, facts, "heartbeat");
  return known;
}
