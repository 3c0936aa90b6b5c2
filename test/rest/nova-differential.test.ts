/**
 * Differential test of the os-aggregates facade against the real Nova: every error row of Nova's
 * reference (status-code table and the API unit tests' error cases, docs/os-aggregates.md §Errors)
 * that applies to our model is sent, unchanged, to our REST API and to a live nova-api
 * (test/rest/nova-peer.ts), and the answers must agree on the status, the fault-type key and the
 * body's shape (`{"<fault>": {"code": N, "message": "…"}}`). Messages are free text and may differ.
 * Rows where our model differs on purpose are listed in `notCompared` with the reason. Skipped with
 * the reason when the peer cannot run here; under CI=true that is a failure.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { putHostInAggregate, type TestController } from "../support/controller-harness.js";
import { startNovaPeer, type NovaPeer } from "./nova-peer.js";
import { registerHosts, rest, startFakeAgent, startRestController, type FakeAgent } from "./rest-harness.js";

/** One side of the comparison: where to send, and the ids of the fixtures there. */
interface Side {
  send(method: string, path: string, body: unknown, nonAdmin?: boolean): Promise<{ status: number; json: unknown; text: string }>;
  /** An empty aggregate whose metadata holds `abc`. */
  a: number;
  /** An aggregate holding compute1. */
  b: number;
  nameB: string;
}

/** An error case: the request, with `{A}`, `{B}` replaced by the side's aggregate ids and `{NAME_B}` by B's name. */
interface Row {
  what: string;
  method: "GET" | "POST" | "PUT" | "DELETE";
  path: string;
  body?: unknown;
  /** Sent with a valid token without the admin role (ours: the agent token; Nova: "demo:demo"). */
  nonAdmin?: boolean;
}

const long = "x".repeat(256);
const action = (what: string, id: string, body: unknown): Row => ({ what, method: "POST", path: `/os-aggregates/${id}/action`, body });

const rows: Row[] = [
  // create
  ...[
    ["no aggregate key", {}],
    ["an empty aggregate", { aggregate: {} }],
    ["a null name", { aggregate: { name: null } }],
    ["an empty name", { aggregate: { name: "" } }],
    ["a name with leading and trailing blanks", { aggregate: { name: " padded " } }],
    ["a 256-character name", { aggregate: { name: long } }],
    ["a number as name", { aggregate: { name: 42 } }],
    ["a zone with ':'", { aggregate: { name: "ok-zone", availability_zone: "bad:az" } }],
    ["an empty zone", { aggregate: { name: "ok-zone", availability_zone: "" } }],
    ["a 256-character zone", { aggregate: { name: "ok-zone", availability_zone: long } }],
    ["an extra property", { aggregate: { name: "ok-extra", foo: "bar" } }],
    ["an extra top-level key", { aggregate: { name: "ok-extra" }, extra: 1 }],
    ["aggregate not an object", { aggregate: "ok" }],
    ["a list as body", ["ok"]],
    ["a duplicate name", { aggregate: { name: "{NAME_B}" } }],
  ].map(([what, body]): Row => ({ what: `create: ${what}`, method: "POST", path: "/os-aggregates", body })),
  // show
  { what: "show: unknown id", method: "GET", path: "/os-aggregates/987654" },
  { what: "show: non-integer id", method: "GET", path: "/os-aggregates/abc" },
  { what: "show: fractional id", method: "GET", path: "/os-aggregates/1.5" },
  // update
  ...[
    ["no aggregate key", {}],
    ["empty updates", { aggregate: {} }],
    ["an unknown key", { aggregate: { foo: "bar" } }],
    ["a null name", { aggregate: { name: null } }],
    ["a 256-character name", { aggregate: { name: long } }],
    ["a zone with ':'", { aggregate: { availability_zone: "bad:az" } }],
    ["a duplicate name", { aggregate: { name: "{NAME_B}" } }],
  ].map(([what, body]): Row => ({ what: `update: ${what}`, method: "PUT", path: "/os-aggregates/{A}", body })),
  { what: "update: unknown aggregate", method: "PUT", path: "/os-aggregates/987654", body: { aggregate: { name: "renamed" } } },
  { what: "update: non-integer id", method: "PUT", path: "/os-aggregates/abc", body: { aggregate: { name: "renamed" } } },
  // delete
  { what: "delete: unknown id", method: "DELETE", path: "/os-aggregates/987654" },
  { what: "delete: non-integer id", method: "DELETE", path: "/os-aggregates/abc" },
  { what: "delete: an aggregate with hosts", method: "DELETE", path: "/os-aggregates/{B}" },
  // add_host
  action("add_host: already in this aggregate", "{B}", { add_host: { host: "compute1" } }),
  action("add_host: unknown aggregate", "987654", { add_host: { host: "compute2" } }),
  action("add_host: unknown host", "{A}", { add_host: { host: "ghost-host" } }),
  action("add_host: missing host", "{A}", { add_host: {} }),
  action("add_host: a 256-character host", "{A}", { add_host: { host: long } }),
  action("add_host: host with ':'", "{A}", { add_host: { host: "bad:host" } }),
  action("add_host: a list of hosts", "{A}", { add_host: { host: ["compute2"] } }),
  action("add_host: a number as host", "{A}", { add_host: { host: 42 } }),
  action("add_host: an extra parameter", "{A}", { add_host: { host: "compute2", extra: 1 } }),
  action("add_host: not an object", "{A}", { add_host: "compute2" }),
  action("add_host: non-integer id", "abc", { add_host: { host: "compute2" } }),
  // remove_host
  action("remove_host: unknown aggregate", "987654", { remove_host: { host: "compute1" } }),
  action("remove_host: host not in the aggregate", "{A}", { remove_host: { host: "compute2" } }),
  action("remove_host: unknown host", "{A}", { remove_host: { host: "ghost-host" } }),
  action("remove_host: missing host", "{A}", { remove_host: {} }),
  action("remove_host: an extra parameter", "{A}", { remove_host: { host: "compute2", x: 1 } }),
  action("remove_host: a list of hosts", "{A}", { remove_host: { host: ["compute2"] } }),
  action("remove_host: null", "{A}", { remove_host: null }),
  // set_metadata
  action("set_metadata: unknown aggregate", "987654", { set_metadata: { metadata: { k: "v" } } }),
  action("set_metadata: missing metadata", "{A}", { set_metadata: {} }),
  action("set_metadata: an extra parameter", "{A}", { set_metadata: { metadata: { k: "v" }, extra: 1 } }),
  action("set_metadata: metadata not an object", "{A}", { set_metadata: { metadata: "k=v" } }),
  action("set_metadata: not an object", "{A}", { set_metadata: "k=v" }),
  action("set_metadata: an empty key", "{A}", { set_metadata: { metadata: { "": "v" } } }),
  action("set_metadata: a 256-character key", "{A}", { set_metadata: { metadata: { [long]: "v" } } }),
  action("set_metadata: a 256-character value", "{A}", { set_metadata: { metadata: { k: long } } }),
  action("set_metadata: a key with '/'", "{A}", { set_metadata: { metadata: { "a/b": "v" } } }),
  action("set_metadata: an empty zone", "{A}", { set_metadata: { metadata: { availability_zone: "" } } }),
  // the action dispatcher
  action("action: unknown action", "{A}", { no_such_action: {} }),
  action("action: empty body", "{A}", {}),
  // not an admin (the policy check comes first)
  { what: "list: not an admin", method: "GET", path: "/os-aggregates", nonAdmin: true },
  { what: "show: not an admin", method: "GET", path: "/os-aggregates/{A}", nonAdmin: true },
  { what: "create: not an admin", method: "POST", path: "/os-aggregates", body: { aggregate: { name: "not-admin" } }, nonAdmin: true },
  { ...action("add_host: not an admin", "{A}", { add_host: { host: "compute2" } }), nonAdmin: true },
  { what: "delete: not an admin", method: "DELETE", path: "/os-aggregates/{A}", nonAdmin: true },
];

/** Error rows of the reference that are not compared, and why (docs/os-aggregates.md says how ours differ). */
export const notCompared: Record<string, string> = {
  "add_host: host already in another aggregate": "Nova lets a host be in many aggregates (200); an aggregate is one XenServer pool here, so 409",
  "add_host: zone mismatch / instances would change zone": "Nova derives a host's zone from its aggregates; ours checks the agent's zone hint, 409 in both when it applies",
  "remove_host: placement conflict": "no placement service here",
  "create: invalid zone (InvalidAggregateAction)": "Nova rejects a zone that names an existing aggregate's host zone; zones are free text here",
  "set_metadata: a key differing only in case from an existing one":
    "400 AggregateMetadataKeyExists in Nova since 2023 (bug 1538011), which ours follows; the peer's Nova 26 (Zed) on SQLite still answers 200",
  "images (2.81)": "image caching is not served by this facade (404 for the route)",
  "no token": "the peer runs noauth2, which answers 204 to a request without a token; ours answers 401 unauthorized",
};

const fill = (side: Side, text: string) => text.replaceAll("{A}", String(side.a)).replaceAll("{B}", String(side.b)).replaceAll("{NAME_B}", side.nameB);
const fillBody = (side: Side, body: unknown) => (body === undefined ? undefined : JSON.parse(fill(side, JSON.stringify(body))));

/** The shape of a fault body: its keys and the types of the inner fields. */
function shapeOf(json: unknown): string {
  if (!json || typeof json !== "object" || Array.isArray(json)) return `not an object: ${JSON.stringify(json)}`;
  return Object.entries(json as Record<string, unknown>)
    .map(([key, inner]) => {
      if (!inner || typeof inner !== "object") return `${key}: ${typeof inner}`;
      const fields = Object.entries(inner as Record<string, unknown>).map(([k, v]) => `${k}:${typeof v}`);
      return `${key}{${fields.sort().join(",")}}`;
    })
    .sort()
    .join(";");
}

let peer: NovaPeer | undefined;
let skipped = "";
let h: TestController;
let agent: FakeAgent;
let ours: Side;
let nova: Side;
const suffix = Math.random().toString(36).slice(2, 8);

beforeAll(async () => {
  const started = await startNovaPeer(5);
  if ("reason" in started) {
    if (process.env.CI === "true") throw new Error(`the live Nova peer cannot run under CI: ${started.reason}`);
    skipped = started.reason;
    return;
  }
  peer = started;
  h = await startRestController();
  agent = await startFakeAgent();
  await registerHosts(h, ["compute1", "compute2", "compute3"], agent.endpoint);
  const novaSend = async (method: string, path: string, body: unknown, nonAdmin = false) => {
    const res = await fetch(`${peer!.url}${path}`, {
      method,
      headers: { "x-auth-token": nonAdmin ? "demo:demo" : "admin:admin", accept: "application/json", ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, text, json: text === "" ? undefined : JSON.parse(text) };
  };
  const oursSend = (method: string, path: string, body: unknown, nonAdmin = false) => rest(h, method, `/v2.1${path}`, { body, ...(nonAdmin ? { token: h.agentToken } : {}) });
  const fixtures = async (send: Side["send"], putHost: (id: number) => Promise<void>): Promise<Side> => {
    const make = async (name: string) => {
      const res = await send("POST", "/os-aggregates", { aggregate: { name } });
      expect(res.status, res.text).toBe(200);
      return (res.json as { aggregate: { id: number } }).aggregate.id;
    };
    const a = await make(`diff-a-${suffix}`);
    const b = await make(`diff-b-${suffix}`);
    await putHost(b);
    const meta = await send("POST", `/os-aggregates/${a}/action`, { set_metadata: { metadata: { abc: "1" } } });
    expect(meta.status, meta.text).toBe(200);
    return { send, a, b, nameB: `diff-b-${suffix}` };
  };
  nova = await fixtures(novaSend, async (id) => {
    const res = await novaSend("POST", `/os-aggregates/${id}/action`, { add_host: { host: "compute1" } });
    expect(res.status, res.text).toBe(200);
  });
  ours = await fixtures(oursSend, (id) => putHostInAggregate(h, "compute1", id));
}, 300_000);

afterAll(async () => {
  await h?.close();
  await agent?.close();
  await peer?.stop();
}, 60_000);

describe("os-aggregates faults against the live Nova", () => {
  it("every error row answers Nova's status, fault key and body shape", async (ctx) => {
    if (skipped) {
      console.warn(`SKIPPED: the live Nova peer cannot run here: ${skipped}`);
      return ctx.skip();
    }
    const differences: string[] = [];
    for (const row of rows) {
      const [a, b] = await Promise.all([ours, nova].map((side) => side.send(row.method, fill(side, row.path), fillBody(side, row.body), row.nonAdmin)));
      const same = a!.status === b!.status && shapeOf(a!.json) === shapeOf(b!.json);
      const codeMatches = (res: typeof a) => Object.values((res!.json ?? {}) as Record<string, { code?: unknown }>).every((f) => f?.code === res!.status);
      if (!same || !codeMatches(a) || b!.status < 400) {
        differences.push(`${row.what}: ours ${a!.status} ${a!.text.slice(0, 160)} | nova ${b!.status} ${b!.text.slice(0, 160)}`);
      }
    }
    expect(differences).toEqual([]);
  }, 120_000);
});
