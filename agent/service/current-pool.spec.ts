import { describe, expect, it } from "vitest";
import { createLogger } from "../../shared/logging.js";
import { XapiError } from "../xapi/errors.js";
import type { XapiValue } from "../xapi/values.js";
import type { AgentContext } from "./agent-context.js";
import { readCurrentPool } from "./current-pool.js";

const home = new URL("http://127.0.0.200/");
const oldMaster = new URL("http://127.0.0.201/");

/** A pool as XenAPI answers it: one pool record and its hosts (uuid, address). */
function pool(uuid: string, master: string, hosts: Array<[string, string]>) {
  return {
    "pool.get_all": [`OpaqueRef:${uuid}`],
    "pool.get_record": { uuid, name_label: "", master: `OpaqueRef:${master}` },
    "host.get_all_records": Object.fromEntries(hosts.map(([u, address]) => [`OpaqueRef:${u}`, { uuid: u, address, name_label: u, metrics: "OpaqueRef:NULL" }])),
  } as Record<string, XapiValue>;
}

/**
 * A pool session pointed at the old master; the own host's toolstack restart is noticed (the
 * session sent home, its generation bumped) during the read, after the call named by `rehomeAfter`:
 * the calls after it are answered by the own host's fresh pool.
 */
function world(rehomeAfter: string) {
  const answers = { old: pool("old-pool", "xs2", [["xs2", "127.0.0.201"], ["xs3", "127.0.0.202"]]), fresh: pool("fresh-pool", "xs1", [["xs1", "127.0.0.200"]]) };
  let endpoint = oldMaster;
  let generation = 0;
  const rehome = () => {
    if (endpoint !== home) generation++;
    endpoint = home;
  };
  const session = {
    get endpoint() {
      return endpoint;
    },
    get generation() {
      return generation;
    },
    async call(method: string, params: XapiValue[] = []): Promise<XapiValue> {
      const from = endpoint === home ? answers.fresh : answers.old;
      if (method === "pool.get_record" && params[0] !== (from["pool.get_all"] as string[])[0]) throw new XapiError("HANDLE_INVALID", ["pool", String(params[0])]);
      const answer = from[method]!;
      if (method === rehomeAfter) rehome();
      return answer;
    },
  };
  const ctx = {
    xapi: { pool: session, options: { url: home }, address: "127.0.0.200", rehomePool: rehome },
    identity: { uuid: "xs1" },
    hostName: "xs1",
    log: createLogger("test", { level: "error" }),
  };
  return ctx as unknown as AgentContext;
}

describe("readCurrentPool", () => {
  it("never mixes the old master's pool record with the own host's fresh pool when the session is sent home during the read", async () => {
    const snapshot = await readCurrentPool(world("pool.get_record"));
    expect([snapshot.pool.uuid, snapshot.pool.masterRef, snapshot.hosts.map((h) => h.uuid)]).toEqual(["fresh-pool", "OpaqueRef:xs1", ["xs1"]]);
  });

  it("reads again when a ref of the old pool is refused after the session was sent home", async () => {
    const snapshot = await readCurrentPool(world("pool.get_all"));
    expect([snapshot.pool.uuid, snapshot.hosts.map((h) => h.uuid)]).toEqual(["fresh-pool", ["xs1"]]);
  });

  it("does not take the old master's whole view for the own host's when the session was sent home as the read ended", async () => {
    const snapshot = await readCurrentPool(world("host.get_all_records"));
    expect([snapshot.pool.uuid, snapshot.hosts.map((h) => h.uuid)]).toEqual(["fresh-pool", ["xs1"]]);
  });
});
