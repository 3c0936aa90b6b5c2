/** aggctl commands about aggregates. */
import { AggregateSchema, MembershipState, PoolState, type Aggregate } from "../gen/hostaggregates/v1/aggregate_pb.js";
import { OperationSchema } from "../gen/hostaggregates/v1/operation_pb.js";
import { UsageError } from "./cli-error.js";
import { parseCommandArgs, type CommandHandlers, type CommandIo } from "./command.js";
import { details, json, jsonList, table, time } from "./output.js";
import { resolveAggregateId } from "./resolve-aggregate.js";
import { followRolling, printRollingPlan, rollingRequest } from "./rolling-commands.js";
import { progressLine, waitForOperation } from "./wait-operation.js";

const metadataText = (a: Aggregate) =>
  Object.entries(a.metadata)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");

/** Prints an aggregate in full. */
export function printAggregate(io: CommandIo, a: Aggregate): void {
  if (io.json) return io.out(json(AggregateSchema, a));
  const pool = a.pool;
  const pairs: [string, string][] = [
    ["id", String(a.id)],
    ["uuid", a.uuid],
    ["name", a.name],
    ["availability_zone", a.availabilityZone || "-"],
    ["hosts", a.members.map((m) => `${m.host}${m.master ? " (master)" : ""}${m.state !== MembershipState.MEMBER ? ` [${MembershipState[m.state]}]` : ""}`).join(", ") || "-"],
    ["metadata", metadataText(a) || "-"],
    ["pool_state", PoolState[pool?.state ?? 0] ?? "-"],
    ["pool_master", pool?.masterHost || "-"],
    ["pool_uuid", pool?.poolUuid || "-"],
    ["maintenance_headroom", String(pool?.maintenanceHeadroom ?? 0)],
    ["created_at", time(a.createdAt)],
    ["updated_at", time(a.updatedAt)],
  ];
  if (a.leaseHolder) pairs.push(["lease", `${a.leaseHolder} (epoch ${a.leaseEpoch})`]);
  if (pool?.lastError) {
    const e = pool.lastError;
    pairs.push(["last_error", `${e.message}${e.xapiCode ? ` (XenAPI ${e.xapiCode} [${e.xapiParams.join(", ")}])` : ""}`]);
  }
  if (pool?.drift.length) pairs.push(["drift", pool.drift.join("; ")]);
  if (pool?.lostVms.length) pairs.push(["lost_vms", pool.lostVms.map((v) => `${v.vmName} (${v.vmUuid}) on ${v.host}`).join(", ")]);
  io.out(details(pairs));
}

function parseMetadata(items: string[]): { metadata: Record<string, string>; removeKeys: string[] } {
  const metadata: Record<string, string> = {};
  const removeKeys: string[] = [];
  for (const item of items) {
    const eq = item.indexOf("=");
    if (eq < 0) removeKeys.push(item);
    else metadata[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return { metadata, removeKeys };
}

async function membershipChange(io: CommandIo, args: string[], usage: string, name: "aggregate-add-host" | "aggregate-remove-host"): Promise<void> {
  const { values, positionals } = parseCommandArgs(args, { "no-wait": { type: "boolean" } }, { min: 2, max: 2, usage });
  const api = io.api();
  const id = await resolveAggregateId(io, positionals[0]!);
  const request = { aggregateId: id, host: positionals[1]! };
  const op = name === "aggregate-add-host" ? await api.aggregates.addHost(request) : await api.aggregates.removeHost(request);
  if (values["no-wait"]) {
    if (io.json) return io.out(json(OperationSchema, op));
    return io.out(`operation ${op.id} accepted: ${progressLine(op)}\nfollow it with: aggctl operation-wait ${op.id}`);
  }
  await waitForOperation(io, op.id);
  printAggregate(io, await api.aggregates.getAggregate({ id }));
}

/** The aggregate commands. */
export const aggregateCommands: CommandHandlers<"aggregate"> = {
  "aggregate-list": async (args, io, usage) => {
    const { values } = parseCommandArgs(args, { "availability-zone": { type: "string" } }, { min: 0, max: 0, usage });
    const all: Aggregate[] = [];
    let pageToken = "";
    do {
      const page = await io.api().aggregates.listAggregates({ availabilityZone: values["availability-zone"] ?? "", pageSize: 1000, pageToken });
      all.push(...page.aggregates);
      pageToken = page.nextPageToken;
    } while (pageToken);
    if (io.json) return io.out(jsonList(AggregateSchema, all));
    io.out(
      table(
        ["Id", "Name", "Availability Zone", "Hosts", "Pool", "Metadata"],
        all.map((a) => [String(a.id), a.name, a.availabilityZone || "-", a.hosts.join(", "), PoolState[a.pool?.state ?? 0] ?? "", metadataText(a)]),
      ),
    );
  },
  "aggregate-create": async (args, io, usage) => {
    const { positionals } = parseCommandArgs(args, {}, { min: 1, max: 2, usage });
    printAggregate(io, await io.api().aggregates.createAggregate({ name: positionals[0]!, availabilityZone: positionals[1] }));
  },
  "aggregate-details": async (args, io, usage) => {
    const { positionals } = parseCommandArgs(args, {}, { min: 1, max: 1, usage });
    const api = io.api();
    printAggregate(io, await api.aggregates.getAggregate({ id: await resolveAggregateId(io, positionals[0]!) }));
  },
  "aggregate-update": async (args, io, usage) => {
    const { values, positionals } = parseCommandArgs(
      args,
      { name: { type: "string" }, "availability-zone": { type: "string" } },
      { min: 1, max: 3, usage },
    );
    const name = values.name ?? positionals[1];
    const availabilityZone = values["availability-zone"] ?? positionals[2];
    if (name === undefined && availabilityZone === undefined) throw new UsageError(`give a new name and/or availability zone\nusage: aggctl ${usage}`);
    const api = io.api();
    printAggregate(io, await api.aggregates.updateAggregate({ id: await resolveAggregateId(io, positionals[0]!), name, availabilityZone }));
  },
  "aggregate-set-metadata": async (args, io, usage) => {
    const { positionals } = parseCommandArgs(args, {}, { min: 2, max: 10_000, usage });
    const api = io.api();
    const { metadata, removeKeys } = parseMetadata(positionals.slice(1));
    printAggregate(io, await api.aggregates.setAggregateMetadata({ id: await resolveAggregateId(io, positionals[0]!), metadata, removeKeys }));
  },
  "aggregate-delete": async (args, io, usage) => {
    const { positionals } = parseCommandArgs(args, {}, { min: 1, max: 1, usage });
    const api = io.api();
    const id = await resolveAggregateId(io, positionals[0]!);
    await api.aggregates.deleteAggregate({ id });
    io.out(io.json ? JSON.stringify({ deleted: String(id) }) : `aggregate ${id} deleted`);
  },
  "aggregate-add-host": (args, io, usage) => membershipChange(io, args, usage, "aggregate-add-host"),
  "aggregate-remove-host": (args, io, usage) => membershipChange(io, args, usage, "aggregate-remove-host"),
  "aggregate-repair": async (args, io, usage) => {
    const { positionals } = parseCommandArgs(args, {}, { min: 1, max: 1, usage });
    const api = io.api();
    printAggregate(io, await api.aggregates.repairAggregate({ id: await resolveAggregateId(io, positionals[0]!) }));
  },
  "aggregate-recover-master": async (args, io, usage) => {
    const { values, positionals } = parseCommandArgs(
      args,
      { "new-master": { type: "string" }, "no-wait": { type: "boolean" } },
      { min: 1, max: 1, usage },
    );
    const api = io.api();
    const id = await resolveAggregateId(io, positionals[0]!);
    const op = await api.aggregates.recoverMaster({ id, newMaster: values["new-master"] ?? "" });
    if (values["no-wait"]) return io.out(io.json ? json(OperationSchema, op) : `operation ${op.id} accepted`);
    await waitForOperation(io, op.id);
    printAggregate(io, await api.aggregates.getAggregate({ id }));
  },
  "aggregate-rolling-maintenance": async (args, io, usage) => {
    const { values, positionals } = parseCommandArgs(
      args,
      {
        action: { type: "string" },
        hook: { type: "string" },
        hosts: { type: "string" },
        "max-parallel": { type: "string" },
        "dry-run": { type: "boolean" },
        "skip-return": { type: "boolean" },
        "no-wait": { type: "boolean" },
      },
      { min: 1, max: 1, usage },
    );
    const request = rollingRequest(values);
    const aggregateId = await resolveAggregateId(io, positionals[0]!);
    const op = await io.api().aggregates.startRollingMaintenance({ aggregateId, ...request });
    if (request.validateOnly) return printRollingPlan(io, op);
    if (values["no-wait"]) return io.out(io.json ? json(OperationSchema, op) : `operation ${op.id} accepted: ${progressLine(op)}`);
    await followRolling(io, op.id);
  },
};
