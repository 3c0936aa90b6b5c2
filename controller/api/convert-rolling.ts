/** Converts a rolling maintenance's params into the Operation's `rolling` detail. */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { RollingAction, RollingHostState, type RollingMaintenanceDetailSchema } from "../../gen/hostaggregates/v1/operation_pb.js";
import type { RollingMaintenanceParams } from "../model/records.js";
import { evacuationMessage, timestamp } from "./convert.js";

/** The rolling detail of an operation. */
export function rollingMessage(p: RollingMaintenanceParams): MessageInitShape<typeof RollingMaintenanceDetailSchema> {
  const current = p.hosts.find((h) => h.state !== "PENDING" && h.state !== "DONE");
  const paused = p.pause !== undefined && !p.pause.resumed;
  return {
    action: RollingAction[p.action],
    hook: p.hook,
    hosts: p.hosts.map((h) => {
      const plan = evacuationMessage({ moves: h.plannedMoves, blockers: h.blockers, vmsTotal: h.plannedMoves.length, vmsMoved: 0, maxParallel: p.maxParallel, validateOnly: true });
      return {
        host: h.name,
        state: RollingHostState[h.state],
        master: h.master,
        plannedMoves: plan.moves,
        blockers: plan.blockers,
        vmsMoved: h.vmsMoved,
        detail: h.detail ?? "",
        startedAt: timestamp(h.startedAt),
        finishedAt: timestamp(h.finishedAt),
      };
    }),
    currentHost: current?.name ?? "",
    hostsDone: p.hosts.filter((h) => h.state === "DONE").length,
    hostsTotal: p.hosts.length,
    vmsMoved: p.vmsMoved,
    estimatedDuration: durationFromMs(p.estimatedMs),
    estimateBandwidthBytesPerSecond: BigInt(p.estimateBandwidthBytesPerSecond),
    paused,
    pauseReason: paused ? p.pause!.reason : "",
    skipReturn: p.skipReturn,
    maxParallel: p.maxParallel,
    vmsReturned: p.vmsReturned,
    unreturnedVms: p.unreturned.map((u) => ({ vmUuid: u.vmUuid, vmName: u.vmName, homeHost: u.homeHost, currentHost: u.currentHost, reason: u.reason })),
  };
}
