import { describe, expect, it } from "vitest";
import { createLogger } from "../../shared/logging.js";
import type { XapiValue } from "../xapi/values.js";
import type { AgentContext } from "./agent-context.js";
import { readCurrentPool } from "./current-pool.js";

const home = new URL("http://127.0.0.200/");
const oldMaster = new URL("http://127.0.0.201/");

/** A pool as XenAPI answers it: one pool record and its hosts (uuid, address). */
function pool(uuid: string, master: string, hosts: Array<[string, string]>) {
  return {
    "pool.get_all": ["OpaqueRef:pool"],
    "pool.get_record": { uuid, name_label: "", master: `OpaqueRef:${master}` },
    "host.get_all_records": Object.fromEntries(hosts.map(([u, address]) => [`OpaqueRef:${u}`, { uuid: u, address, name_label: u, metrics: "OpaqueRef:NULL" }])),
  } as Record<string, XapiValue>;
}

/**
 * A pool session pointed at the old master; the own host's toolstack restart is noticed (the
 * session sent home) while the last call of the read is still answered by the old master.
 */
function world() {
  const answers = { old: pool("old-pool", "xs2", [["xs2", "127.0.0.201"], ["xs3", "127.0.0.202"]]), fresh: pool("fresh-pool", "xs1", [["xs1", "127.0.0.200"]]) };
  let endpoint = oldMaster;
  const session = {
    get endpoint() {
      return endpoint;
    },
    async call(method: string): Promise<XapiValue> {
      const from = endpoint === home ? answers.fresh : answers.old;
      if (method === "host.get_all_records" && endpoint !== home) endpoint = home; // the monitor's rehome, mid-read
      return from[method]!;
    },
  };
  const ctx = {
    xapi: { pool: session, options: { url: home }, address: "127.0.0.200", rehomePool: () => (endpoint = home) },
    identity: { uuid: "xs1" },
    hostName: "xs1",
    log: createLogger("test", { level: "error" }),
  };
  return ctx as unknown as AgentContext;
}

describe("readCurrentPool", () => {
  it("does not take the old master's view for the own host's when the session was sent home during the read", async () => {
    const snapshot = await readCurrentPool(world());
    expect([snapshot.pool.uuid, snapshot.hosts.map((h) => h.uuid)]).toEqual(["fresh-pool", ["xs1"]]);
  });
});
