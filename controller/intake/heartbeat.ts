/** Heartbeat (agents only): validate and queue the report (the store writes heartbeats in batches). */
import type { MessageShape } from "@bufbuild/protobuf";
import type { HeartbeatRequestSchema } from "../../gen/hostaggregates/v1/agent_registry_pb.js";
import type { ControllerContext } from "../context.js";
import { nowIso } from "../model/records.js";
import { checkHostName, violations } from "../model/validation.js";
import { capacityRecord, poolFactsRecord } from "./host-reports.js";
import { assertValid } from "./lookups.js";

/** Records a heartbeat; false when the host is unknown (it must register again). */
export async function heartbeat(ctx: ControllerContext, req: MessageShape<typeof HeartbeatRequestSchema>): Promise<boolean> {
  assertValid(violations(checkHostName(req.name, "name")));
  return await ctx.store.heartbeat(req.name, capacityRecord(req.capacity), poolFactsRecord(req.pool), nowIso());
}
