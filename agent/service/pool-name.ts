/** InitPool / ClearPool: pool.set_name_label on the own host's pool, which it must be the master of. */
import { failedPrecondition, invalidArgument } from "../../shared/errors.js";
import { strings } from "../xapi/values.js";
import type { AgentContext } from "./agent-context.js";
import { poolInfo, type PoolInfoInit } from "./convert.js";
import { readPool } from "./pool-snapshot.js";

/** Sets the pool name ("" clears it); no call when it already has that name. */
export async function setPoolName(ctx: AgentContext, name: string, signal: AbortSignal): Promise<PoolInfoInit> {
  const state = await ctx.xapi.homeState({ signal });
  if (state.kind === "unreachable") throw state.error;
  if (state.kind === "slave") throw failedPrecondition(`${ctx.hostName} is a member of the pool of ${state.masterAddress}; only a master names its pool`);
  if (state.kind === "emergency") throw failedPrecondition(`${ctx.hostName} is in emergency mode (${state.code})`);
  const before = await readPool(ctx.xapi.home, { signal });
  if (before.pool.name === name) return poolInfo(before);
  const [pool] = strings(await ctx.xapi.home.call("pool.get_all", [], { signal }));
  await ctx.xapi.home.call("pool.set_name_label", [pool ?? before.pool.ref, name], { signal });
  ctx.log.info("pool renamed", { from: before.pool.name, to: name });
  return poolInfo(await readPool(ctx.xapi.home, { signal }));
}

/** Validates an InitPool name (1–255 characters, no surrounding blanks). */
export function checkPoolName(name: string): string {
  if (name.length === 0 || name.length > 255 || name.trim() !== name) {
    throw invalidArgument([{ field: "name", description: "must be 1-255 characters without surrounding blanks" }]);
  }
  return name;
}
