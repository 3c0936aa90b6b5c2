/** Waiting until a controller knows every host of a cluster (polled; a controller still starting counts as "not yet"). */
import type { Host } from "../gen/hostaggregates/v1/host_pb.js";

/**
 * Polls `listHosts` every 100 ms until `missing` names no host, or throws after timeoutMs naming
 * the hosts still missing (or the last error of a controller that never answered).
 */
export async function waitRegistered(listHosts: () => Promise<Host[]>, missing: (hosts: Host[]) => string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const left = missing(await listHosts());
      if (left.length === 0) return;
      if (Date.now() > deadline) throw new Error(`agents not registered within ${timeoutMs} ms: ${left.join(", ")}`);
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await new Promise((r) => setTimeout(r, 100)); // poll interval
  }
}
