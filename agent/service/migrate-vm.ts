/**
 * MigrateVm: Async.VM.pool_migrate on the master and task polling, streamed as progress. A VM
 * already running on the target is DONE at once without a task; a caller that goes away
 * (ctx.signal) gets the task cancelled.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { MigrationState, type MigrateVmProgressSchema } from "../../gen/hostaggregates/agent/v1/pool_agent_pb.js";
import { failedPrecondition, invalidArgument, notFound } from "../../shared/errors.js";
import { isXapiError } from "../xapi/errors.js";
import { watchTask } from "../xapi/task.js";
import { str } from "../xapi/values.js";
import type { AgentContext } from "./agent-context.js";
import { readCurrentPool } from "./current-pool.js";
import { hostByUuid } from "./pool-snapshot.js";

type ProgressInit = MessageInitShape<typeof MigrateVmProgressSchema>;

/** Resolves a VM uuid to a ref with VM.get_by_uuid; NOT_FOUND when XAPI does not know it. */
async function vmRefOf(ctx: AgentContext, uuid: string, signal: AbortSignal): Promise<string> {
  try {
    return str(await ctx.xapi.pool.call("VM.get_by_uuid", [uuid], { signal }));
  } catch (err) {
    if (isXapiError(err, "UUID_INVALID")) throw notFound(`VM ${uuid} is not known to the pool`);
    throw err;
  }
}

/** Streams the progress of migrating vmUuid to targetHostUuid, ending with DONE. */
export async function* migrateVm(ctx: AgentContext, vmUuid: string, targetHostUuid: string, signal: AbortSignal): AsyncGenerator<ProgressInit> {
  const violations = [];
  if (!vmUuid.trim()) violations.push({ field: "vm_uuid", description: "required" });
  if (!targetHostUuid.trim()) violations.push({ field: "target_host_uuid", description: "required" });
  if (violations.length) throw invalidArgument(violations);
  const pool = ctx.xapi.pool;
  // Also makes sure the pool session is on the master of the pool the own host is in now.
  const snapshot = await readCurrentPool(ctx, { signal });
  const vm = await vmRefOf(ctx, vmUuid.trim(), signal);
  const host = hostByUuid(snapshot, targetHostUuid.trim())?.ref;
  if (!host) throw notFound(`host ${targetHostUuid.trim()} is not known to the pool`);
  const residentOn = str(await pool.call("VM.get_resident_on", [vm], { signal }));
  const powerState = str(await pool.call("VM.get_power_state", [vm], { signal }));
  if (residentOn === host && powerState === "Running") {
    ctx.log.info("migrate: VM already on the target", { vm: vmUuid, host: targetHostUuid });
    yield { state: MigrationState.DONE, progress: 1, task: "" };
    return;
  }

  const task = str(await pool.call("Async.VM.pool_migrate", [vm, host, { live: "true" }], { signal }));
  ctx.log.info("migrate: started", { vm: vmUuid, host: targetHostUuid, task });
  yield { state: MigrationState.RUNNING, progress: 0, task };
  let last = 0;
  const watch = watchTask(pool, task, {
    pollIntervalMs: ctx.timings.pollIntervalMs,
    timeoutMs: ctx.timings.migrateTimeoutMs,
    signal,
    method: "VM.pool_migrate",
  });
  for await (const snapshot of watch) {
    if (snapshot.status === "pending" && snapshot.progress > last && snapshot.progress < 1) {
      last = snapshot.progress;
      yield { state: MigrationState.RUNNING, progress: last, task };
    }
  }
  const nowOn = str(await pool.call("VM.get_resident_on", [vm], { signal }));
  if (nowOn !== host) throw failedPrecondition(`migration task ${task} succeeded but VM ${vmUuid} is not resident on ${targetHostUuid}`);
  ctx.log.info("migrate: done", { vm: vmUuid, host: targetHostUuid, task });
  yield { state: MigrationState.DONE, progress: 1, task };
}
