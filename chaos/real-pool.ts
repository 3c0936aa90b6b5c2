/**
 * What XenServer itself says, read through XenAPI (the agent's own client) from each host: whether
 * it answers as a master, and then its pool (name, master, hosts) and its VMs; or whom it follows.
 * The campaign compares the controller's record with this, never with the simulator's internals.
 */
import { XapiCredentials } from "../agent/xapi/credentials.js";
import { XapiError, XapiUnreachableError } from "../agent/xapi/errors.js";
import { hostRecord, poolRecord, recordsOf, vmRecord } from "../agent/xapi/records.js";
import { XapiSession } from "../agent/xapi/session.js";

/** A guest VM as the pool master lists it. */
export interface RealVm {
  uuid: string;
  name: string;
  powerState: string;
  /** Name of the host it runs on ("" when none). */
  residentOn: string;
}

/** A host's own answer. */
export type RealHostView =
  | { kind: "master"; poolUuid: string; poolName: string; master: string; hosts: string[]; enabledHosts: string[]; vms: RealVm[] }
  | { kind: "slave"; masterAddress: string }
  | { kind: "failing"; error: string }
  | { kind: "unreachable"; reason: string };

/** One host and its answer. */
export interface RealHost {
  name: string;
  url: string;
  view: RealHostView;
}

/** Reads one host through XenAPI, without following a redirect to its master. */
export async function readRealHost(name: string, url: string, username: string, password: string): Promise<RealHost> {
  const session = new XapiSession({
    home: new URL(url),
    credentials: new XapiCredentials(username, password),
    followMaster: false,
    callTimeoutMs: 5000,
    loginAttempts: 1,
    originator: "host-aggregates-chaos",
  });
  try {
    const pools = recordsOf(await session.call("pool.get_all_records"), poolRecord);
    const hosts = recordsOf(await session.call("host.get_all_records"), hostRecord);
    const vms = recordsOf(await session.call("VM.get_all_records"), vmRecord);
    const nameOf = (ref: string) => hosts.find((h) => h.ref === ref)?.name ?? "";
    const pool = pools[0];
    return {
      name,
      url,
      view: {
        kind: "master",
        poolUuid: pool?.uuid ?? "",
        poolName: pool?.name ?? "",
        master: pool ? nameOf(pool.masterRef) : "",
        hosts: hosts.map((h) => h.name).sort(),
        enabledHosts: hosts.filter((h) => h.enabled).map((h) => h.name).sort(),
        vms: vms
          .filter((v) => !v.isControlDomain && !v.isTemplate && !v.isSnapshot)
          .map((v) => ({ uuid: v.uuid, name: v.name, powerState: v.powerState, residentOn: nameOf(v.residentOn) })),
      },
    };
  } catch (err) {
    if (err instanceof XapiError && err.code === "HOST_IS_SLAVE") return { name, url, view: { kind: "slave", masterAddress: err.params[0] ?? "" } };
    if (err instanceof XapiError) return { name, url, view: { kind: "failing", error: [err.code, ...err.params].join(" ") } };
    if (err instanceof XapiUnreachableError) return { name, url, view: { kind: "unreachable", reason: err.reason } };
    return { name, url, view: { kind: "failing", error: String(err) } };
  } finally {
    await session.logout().catch(() => undefined);
  }
}

/** Reads every host. */
export function readRealHosts(hosts: readonly { name: string; url: string }[], username: string, password: string): Promise<RealHost[]> {
  return Promise.all(hosts.map((h) => readRealHost(h.name, h.url, username, password)));
}
