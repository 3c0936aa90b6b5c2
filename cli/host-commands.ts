/** aggctl commands about hosts. */
import { HostLiveness, HostRole, HostSchema, MaintenanceState, type Host } from "../gen/hostaggregates/v1/host_pb.js";
import { MembershipState } from "../gen/hostaggregates/v1/aggregate_pb.js";
import { OperationSchema, VmMoveState } from "../gen/hostaggregates/v1/operation_pb.js";
import { positiveInt } from "./arguments.js";
import { parseCommandArgs, type CommandHandlers, type CommandIo } from "./command.js";
import { aggregateFilter } from "./resolve-aggregate.js";
import { bytes, details, json, jsonList, table, time } from "./output.js";
import { progressLine, waitForOperation } from "./wait-operation.js";

/** Prints a host in full. */
export function printHost(io: CommandIo, h: Host): void {
  if (io.json) return io.out(json(HostSchema, h));
  const pairs: [string, string][] = [
    ["name", h.name],
    ["uuid", h.uuid || "-"],
    ["enabled", String(h.enabled)],
    ["aggregate", h.aggregateId ? `${h.aggregateId} (${MembershipState[h.membership]})` : "-"],
    ["role", HostRole[h.role] ?? "-"],
    ["liveness", HostLiveness[h.liveness] ?? "-"],
    ["maintenance", MaintenanceState[h.maintenance] ?? "-"],
    ["xapi_address", h.xapiAddress],
    ["agent_endpoint", h.agentEndpoint],
    ["availability_zone_hint", h.availabilityZoneHint || "-"],
    ["memory", h.capacity ? `${bytes(h.capacity.memoryFreeBytes)} free of ${bytes(h.capacity.memoryTotalBytes)}` : "-"],
    ["last_heartbeat_at", time(h.lastHeartbeatAt)],
  ];
  if (h.statusReason) pairs.push(["status_reason", h.statusReason]);
  io.out(details(pairs));
  if (h.vms.length > 0) {
    io.out("");
    io.out(table(["VM", "UUID", "Power", "Memory", "Moved from"], h.vms.map((v) => [v.name, v.uuid, v.powerState, bytes(v.memoryBytes), v.originHost || "-"])));
  }
}

async function setEnabled(io: CommandIo, name: string, enabled: boolean): Promise<void> {
  printHost(io, await io.api().hosts.setHostEnabled({ name, enabled }));
}

/** The host commands. */
export const hostCommands: CommandHandlers<"host"> = {
  "host-list": async (args, io, usage) => {
    const { values } = parseCommandArgs(args, { aggregate: { type: "string" } }, { min: 0, max: 0, usage });
    const aggregateId = await aggregateFilter(io, values.aggregate);
    const all: Host[] = [];
    let pageToken = "";
    do {
      const page = await io.api().hosts.listHosts({ aggregateId, pageSize: 1000, pageToken });
      all.push(...page.hosts);
      pageToken = page.nextPageToken;
    } while (pageToken);
    if (io.json) return io.out(jsonList(HostSchema, all));
    io.out(
      table(
        ["Name", "Enabled", "Aggregate", "Role", "Liveness", "Maintenance", "Memory free", "XAPI"],
        all.map((h) => [
          h.name,
          h.enabled ? "yes" : "no",
          h.aggregateId ? String(h.aggregateId) : "-",
          HostRole[h.role] ?? "-",
          HostLiveness[h.liveness] ?? "-",
          MaintenanceState[h.maintenance] ?? "-",
          h.capacity ? bytes(h.capacity.memoryFreeBytes) : "-",
          h.xapiAddress,
        ]),
      ),
    );
  },
  "host-show": async (args, io, usage) => {
    const { positionals } = parseCommandArgs(args, {}, { min: 1, max: 1, usage });
    printHost(io, await io.api().hosts.getHost({ name: positionals[0]! }));
  },
  "host-enable": async (args, io, usage) => {
    const { positionals } = parseCommandArgs(args, {}, { min: 1, max: 1, usage });
    await setEnabled(io, positionals[0]!, true);
  },
  "host-disable": async (args, io, usage) => {
    const { positionals } = parseCommandArgs(args, {}, { min: 1, max: 1, usage });
    await setEnabled(io, positionals[0]!, false);
  },
  "host-maintenance-start": async (args, io, usage) => {
    const { values, positionals } = parseCommandArgs(
      args,
      { "dry-run": { type: "boolean" }, "max-parallel": { type: "string" }, "allow-partial": { type: "boolean" }, "no-wait": { type: "boolean" } },
      { min: 1, max: 1, usage },
    );
    const op = await io.api().hosts.startMaintenance({
      host: positionals[0]!,
      validateOnly: values["dry-run"] ?? false,
      maxParallel: values["max-parallel"] ? positiveInt(values["max-parallel"], "--max-parallel") : 0,
      allowPartial: values["allow-partial"] ?? false,
    });
    if (values["dry-run"]) {
      if (io.json) return io.out(json(OperationSchema, op));
      const ev = op.evacuation;
      io.out(`plan for ${positionals[0]}: ${ev?.moves.length ?? 0} VM(s) can move, ${ev?.blockers.length ?? 0} cannot`);
      if (ev?.moves.length) io.out(table(["VM", "Memory", "To"], ev.moves.map((m) => [m.vmName, bytes(m.memoryBytes), m.toHost])));
      if (ev?.blockers.length) {
        io.out(table(["VM (cannot move)", "Reason", "XenAPI"], ev.blockers.map((b) => [b.vmName, b.reason, b.xapiCode ? `${b.xapiCode} [${b.xapiParams.join(", ")}]` : "-"])));
      }
      return;
    }
    if (values["no-wait"]) return io.out(io.json ? json(OperationSchema, op) : `operation ${op.id} accepted: ${progressLine(op)}`);
    const final = await waitForOperation(io, op.id);
    const moved = final.evacuation?.moves.filter((m) => m.state === VmMoveState.DONE).length ?? 0;
    io.out(`host ${positionals[0]} is in maintenance; ${moved} VM(s) moved`);
  },
  "host-maintenance-stop": async (args, io, usage) => {
    const { values, positionals } = parseCommandArgs(
      args,
      { rebalance: { type: "boolean" }, "no-wait": { type: "boolean" } },
      { min: 1, max: 1, usage },
    );
    const op = await io.api().hosts.stopMaintenance({ host: positionals[0]!, rebalance: values.rebalance ?? false });
    if (values["no-wait"]) return io.out(io.json ? json(OperationSchema, op) : `operation ${op.id} accepted`);
    await waitForOperation(io, op.id);
    printHost(io, await io.api().hosts.getHost({ name: positionals[0]! }));
  },
  "host-forget": async (args, io, usage) => {
    const { positionals } = parseCommandArgs(args, {}, { min: 1, max: 1, usage });
    await io.api().hosts.forgetHost({ name: positionals[0]! });
    io.out(`host ${positionals[0]} forgotten`);
  },
};
