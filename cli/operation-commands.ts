/** aggctl commands about operations and events. */
import { EventSchema, type Event } from "../gen/hostaggregates/v1/event_pb.js";
import { OperationKind, OperationSchema, OperationState, RollingAction, RollingHostState, StepState, type Operation } from "../gen/hostaggregates/v1/operation_pb.js";
import { UsageError } from "./cli-error.js";
import { positiveInt } from "./arguments.js";
import { parseCommandArgs, type CommandHandlers, type CommandIo } from "./command.js";
import { details, json, jsonLine, jsonList, table, time } from "./output.js";
import { aggregateFilter } from "./resolve-aggregate.js";
import { followRolling } from "./rolling-commands.js";
import { waitForOperation } from "./wait-operation.js";

function printOperation(io: CommandIo, op: Operation): void {
  if (io.json) return io.out(json(OperationSchema, op));
  const pairs: [string, string][] = [
    ["id", op.id],
    ["kind", OperationKind[op.kind] ?? "-"],
    ["target", op.target],
    ["state", OperationState[op.state] ?? "-"],
    ["progress", `${Math.round(op.progress * 100)}%`],
    ["created_at", time(op.createdAt)],
    ["finished_at", time(op.finishedAt)],
  ];
  if (op.leaseHolder) pairs.push(["lease", `${op.leaseHolder} (epoch ${op.leaseEpoch})`]);
  if (op.error) pairs.push(["error", `${op.error.code}: ${op.error.message}${op.error.xapiCode ? ` (XenAPI ${op.error.xapiCode} [${op.error.xapiParams.join(", ")}])` : ""}`]);
  io.out(details(pairs));
  if (op.rolling) {
    const r = op.rolling;
    io.out("");
    io.out(`rolling ${RollingAction[r.action].toLowerCase()}${r.hook ? ` (hook ${r.hook})` : ""}: ${r.hostsDone}/${r.hostsTotal} host(s) done, ${r.vmsMoved} migration(s)${r.paused ? `; PAUSED: ${r.pauseReason}` : ""}`);
    io.out(table(["Host", "State", "VMs moved", "Detail"], r.hosts.map((h) => [`${h.host}${h.master ? " (master)" : ""}`, RollingHostState[h.state] ?? "-", String(h.vmsMoved), h.detail])));
    if (r.unreturnedVms.length) io.out(table(["VM (not back home)", "Home", "Now on", "Why"], r.unreturnedVms.map((u) => [u.vmName, u.homeHost, u.currentHost || "-", u.reason])));
  }
  if (op.steps.length) {
    io.out("");
    io.out(table(["Step", "State", "Detail"], op.steps.map((s) => [s.name, StepState[s.state] ?? "-", s.detail])));
  }
}

/** The operation and event commands. */
export const operationCommands: CommandHandlers<"operation"> = {
  "operation-list": async (args, io, usage) => {
    const { values } = parseCommandArgs(
      args,
      { aggregate: { type: "string" }, host: { type: "string" }, state: { type: "string" }, limit: { type: "string" } },
      { min: 0, max: 0, usage },
    );
    let state = OperationState.UNSPECIFIED;
    if (values.state) {
      const key = values.state.toUpperCase() as keyof typeof OperationState;
      if (!(key in OperationState)) throw new UsageError(`--state must be one of PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLED`);
      state = OperationState[key] as OperationState;
    }
    const pageSize = values.limit ? positiveInt(values.limit, "--limit") : 50;
    const aggregateId = await aggregateFilter(io, values.aggregate);
    const page = await io.api().operations.listOperations({ aggregateId, host: values.host ?? "", state, pageSize });
    if (io.json) return io.out(jsonList(OperationSchema, page.operations));
    io.out(
      table(
        ["Id", "Kind", "Target", "State", "Progress", "Created", "Error"],
        page.operations.map((o) => [o.id, OperationKind[o.kind] ?? "", o.target, OperationState[o.state] ?? "", `${Math.round(o.progress * 100)}%`, time(o.createdAt), o.error?.message ?? ""]),
      ),
    );
  },
  "operation-show": async (args, io, usage) => {
    const { positionals } = parseCommandArgs(args, {}, { min: 1, max: 1, usage });
    printOperation(io, await io.api().operations.getOperation({ id: positionals[0]! }));
  },
  "operation-wait": async (args, io, usage) => {
    const { positionals } = parseCommandArgs(args, {}, { min: 1, max: 1, usage });
    printOperation(io, await waitForOperation(io, positionals[0]!));
  },
  "operation-resume": async (args, io, usage) => {
    const { values, positionals } = parseCommandArgs(args, { "no-wait": { type: "boolean" } }, { min: 1, max: 1, usage });
    const op = await io.api().operations.resumeOperation({ id: positionals[0]! });
    if (values["no-wait"]) return printOperation(io, op);
    await followRolling(io, op.id);
  },
  "operation-cancel": async (args, io, usage) => {
    const { positionals } = parseCommandArgs(args, {}, { min: 1, max: 1, usage });
    printOperation(io, await io.api().operations.cancelOperation({ id: positionals[0]! }));
  },
  "event-list": async (args, io, usage) => {
    const { values } = parseCommandArgs(
      args,
      { aggregate: { type: "string" }, limit: { type: "string" }, follow: { type: "boolean" } },
      { min: 0, max: 0, usage },
    );
    const pageSize = values.limit ? positiveInt(values.limit, "--limit") : 50;
    const aggregateId = await aggregateFilter(io, values.aggregate);
    const page = await io.api().events.listEvents({ aggregateId, pageSize });
    const recent = [...page.events].reverse();
    // --json: an array; with --follow, JSON Lines (one event per line, as they come).
    if (io.json && !values.follow) return io.out(jsonList(EventSchema, recent));
    const line = (e: Event) => (io.json ? jsonLine(EventSchema, e) : `${time(e.time)}  ${e.kind}  ${e.message}`);
    for (const e of recent) io.out(line(e));
    if (!values.follow) return;
    const after = page.events[0]?.id ?? 0n;
    for await (const e of io.api().events.watchEvents({ aggregateId, afterId: after })) io.out(line(e));
  },
};
