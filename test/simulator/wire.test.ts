import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Simulator } from "../../simulator/index.js";
import { PASSWORD, Xapi, clientFor, fastParse, methodCallXml, parseResponse, post, startTestSim, until, type Envelope } from "./helpers.js";

// docs/xenapi-notes.md §Simulator checklist, points 1–6 (transport; facts in §Wire format and §Async tasks).
// The §8.N in the test titles are the point numbers of that checklist.
let sim: Simulator;
let xs1: Xapi;

beforeAll(async () => {
  sim = await startTestSim("127.0.0.10", { hosts: 2, vmsPerHost: 1 });
  xs1 = clientFor(sim, "xs1");
  await xs1.login();
});
afterAll(() => sim.close());

const login = (pwd = PASSWORD): string =>
  `<?xml version="1.0"?>\n<methodCall>\n<methodName>session.login_with_password</methodName>\n<params>\n` +
  `<param>\n<value><string>root</string></value>\n</param>\n<param>\n<value>${pwd}</value>\n</param>\n</params>\n</methodCall>\n`;

describe("transport (§8.1-2)", () => {
  it("serves each host on its own loopback address, same port, on / and /RPC2", async () => {
    expect(sim.hosts.map((h) => h.address)).toEqual(["127.0.0.10", "127.0.0.11"]);
    expect(sim.hosts.map((h) => h.url)).toEqual([`http://127.0.0.10:${sim.port}/`, `http://127.0.0.11:${sim.port}/`]);
    for (const path of ["/", "/RPC2"]) {
      const reply = await post(`http://127.0.0.11:${sim.port}${path}`, login());
      expect(reply.status).toBe(200);
      expect(reply.contentType).toBe("text/xml");
      const env = (await parseResponse(reply.text)) as Envelope;
      expect(env.Status).toBe("Success");
      expect(env.Value).toMatch(/^OpaqueRef:[0-9a-f-]{36}$/);
    }
  });

  it("answers unparseable XML with HTTP 500 and keeps serving", async () => {
    for (const body of ["not xml at all", "<methodCall><methodName>x</methodName><params><param><value><int>zz</int>", ""]) {
      const reply = await post(sim.hosts[0]!.url, body);
      expect(reply.status).toBe(500);
      expect(reply.text).not.toContain("<fault>");
    }
    expect((await post(sim.hosts[0]!.url, login())).status).toBe(200);
  });

  it("answers other paths with 404 and GET with 405", async () => {
    expect((await post(`http://127.0.0.10:${sim.port}/jsonrpc`, login())).status).toBe(404);
    expect((await post(sim.hosts[0]!.url, "", false, "GET")).status).toBe(405);
  });

  it("sends API errors as HTTP 200 Failure envelopes, never <fault>", async () => {
    const reply = await post(sim.hosts[0]!.url, methodCallXml("VM.get_record", [xs1.session, "OpaqueRef:nope"]));
    expect(reply.status).toBe(200);
    expect(reply.text).not.toContain("<fault>");
    expect(reply.text).toContain("<name>ErrorDescription</name>");
    expect(await parseResponse(reply.text)).toEqual({ Status: "Failure", ErrorDescription: ["HANDLE_INVALID", "VM", "OpaqueRef:nope"] });
  });
});

describe("value encoding (§8.3)", () => {
  it("emits ints as untyped decimal strings, bools, doubles, datetimes, untyped strings", async () => {
    const vms = await xs1.ok<string[]>("VM.get_all");
    const guest = (await xs1.ok<Record<string, Record<string, unknown>>>("VM.get_all_records"));
    const ref = Object.keys(guest).find((r) => guest[r]!["is_control_domain"] === false && guest[r]!["is_a_template"] === false)!;
    expect(vms).toContain(ref);
    const reply = await post(sim.hosts[0]!.url, methodCallXml("VM.get_record", [xs1.session, ref]));
    expect(reply.text).not.toMatch(/<(int|i4|i8|string)>/);
    expect(reply.text).toMatch(/<name>memory_static_max<\/name><value>\d+<\/value>/);
    expect(reply.text).toMatch(/<name>is_a_template<\/name><value><boolean>0<\/boolean><\/value>/);
    expect(reply.text).toMatch(/<name>HVM_shadow_multiplier<\/name><value><double>1<\/double><\/value>/);
    expect(reply.text).toMatch(/<name>snapshot_time<\/name><value><dateTime\.iso8601>19700101T00:00:00Z<\/dateTime\.iso8601><\/value>/);
    expect(reply.text).toMatch(/<name>affinity<\/name><value>OpaqueRef:NULL<\/value>/);
    const record = ((await parseResponse(reply.text)) as Envelope).Value as Record<string, unknown>;
    const all = await post(sim.hosts[0]!.url, methodCallXml("VM.get_all_records", [xs1.session]));
    expect(fastParse(all.text)).toEqual(await parseResponse(all.text)); // the test client's parser agrees with xmlrpc's
    expect(record["memory_static_max"]).toBe(String(1024 * 1024 * 1024));
    expect(record["power_state"]).toBe("Running");
    expect(record["domid"]).toMatch(/^\d+$/);
  });

  it("emits void as an empty value and escapes text", async () => {
    const pool = (await xs1.ok<string[]>("pool.get_all"))[0];
    const set = await post(sim.hosts[0]!.url, methodCallXml("pool.set_name_label", [xs1.session, pool, 'a&b<c>"d']));
    expect(set.text).toContain("<name>Value</name><value></value>");
    const get = await post(sim.hosts[0]!.url, methodCallXml("pool.get_name_label", [xs1.session, pool]));
    expect(get.text).toContain("<value>a&amp;b&lt;c&gt;&quot;d</value>");
    expect(((await parseResponse(get.text)) as Envelope).Value).toBe('a&b<c>"d');
  });

  it("accepts <int>/<i4>/<i8>, untyped, <string>, <boolean>, <struct>, <array> and whitespace (§8.4)", async () => {
    const host = (await xs1.ok<string[]>("host.get_all"))[0];
    const session = xs1.session;
    for (const batch of ["<int>3</int>", "<i4>3</i4>", "<i8>3</i8>", "3", "<string>3</string>"]) {
      const body =
        `<?xml version="1.0"?>\n<methodCall>\n  <methodName>host.get_vms_which_prevent_evacuation</methodName>\n  <params>\n` +
        `    <param>\n      <value>${session}</value>\n    </param>\n` +
        `    <param><value><string>${host}</string></value></param>\n  </params>\n</methodCall>`;
      const env = (await parseResponse((await post(sim.hosts[0]!.url, body)).text)) as Envelope;
      expect(env.Status, batch).toBe("Success");
      const evac = `<methodCall><methodName>host.disable</methodName><params><param><value>${session}</value></param>` +
        `<param><value>${host}</value></param><param><value><boolean>1</boolean></value></param></params></methodCall>`;
      expect(((await parseResponse((await post(sim.hosts[0]!.url, evac)).text)) as Envelope).Status).toBe("Success");
    }
    await xs1.ok("host.enable", host);
    const vm = (await xs1.ok<string[]>("VM.get_all"))[0];
    const structCall =
      `<methodCall><methodName>VM.pool_migrate</methodName><params><param><value>${session}</value></param>` +
      `<param><value>${vm}</value></param><param><value>${host}</value></param>` +
      `<param><value><struct>\n<member><name>live</name><value><string>true</string></value></member>\n</struct></value></param>` +
      `</params></methodCall>`;
    const env = (await parseResponse((await post(sim.hosts[0]!.url, structCall)).text)) as Envelope;
    expect(env.Status).toBe("Failure"); // parsed fine; fails on the VM's state, not on decoding
    const arrayCall = `<methodCall><methodName>pool.get_all</methodName><params><param><value><array><data><value>${session}</value></data></array></value></param></params></methodCall>`;
    expect(((await parseResponse((await post(sim.hosts[0]!.url, arrayCall)).text)) as Envelope).ErrorDescription?.[0]).toBe(
      "SESSION_INVALID",
    );
  });
});

describe("methods and parameters (§8.5)", () => {
  it("unknown method → MESSAGE_METHOD_UNKNOWN [name]", async () => {
    expect(await xs1.fail("VM.frobnicate")).toEqual(["MESSAGE_METHOD_UNKNOWN", "VM.frobnicate"]);
    expect((await xs1.call("nonsense")).ErrorDescription).toEqual(["MESSAGE_METHOD_UNKNOWN", "nonsense"]);
  });

  it("wrong parameter counts → MESSAGE_PARAMETER_COUNT_MISMATCH [name, expected, received] (session excluded)", async () => {
    expect(await xs1.fail("VM.pool_migrate", "OpaqueRef:a")).toEqual(["MESSAGE_PARAMETER_COUNT_MISMATCH", "VM.pool_migrate", "3", "1"]);
    expect(await xs1.fail("pool.get_all", "extra")).toEqual(["MESSAGE_PARAMETER_COUNT_MISMATCH", "pool.get_all", "0", "1"]);
    expect((await xs1.call("pool.get_all")).ErrorDescription).toEqual(["MESSAGE_PARAMETER_COUNT_MISMATCH", "pool.get_all", "0", "-1"]);
    expect((await xs1.call("session.login_with_password", "root")).ErrorDescription).toEqual([
      "MESSAGE_PARAMETER_COUNT_MISMATCH",
      "session.login_with_password",
      "4",
      "1",
    ]);
  });

  it("trailing defaulted params may be omitted", async () => {
    expect((await xs1.call("session.login_with_password", "root", PASSWORD)).Status).toBe("Success");
    expect((await xs1.call("session.login_with_password", "root", PASSWORD, "1.1")).Status).toBe("Success");
    const host = (await xs1.ok<string[]>("host.get_all"))[0];
    expect(await xs1.ok("host.disable", host)).toBe("");
    expect(await xs1.ok("host.disable", host, false)).toBe("");
    expect(await xs1.ok("host.enable", host)).toBe("");
    // xs1 is alone with one running VM: evacuate parses fine and fails on the plan.
    expect(await xs1.fail("host.evacuate", host)).toEqual(["NO_HOSTS_AVAILABLE", expect.any(String)]);
    expect(await xs1.fail("host.evacuate", host, "OpaqueRef:NULL")).toEqual(["NO_HOSTS_AVAILABLE", expect.any(String)]);
    expect(await xs1.fail("host.evacuate", host, "OpaqueRef:NULL", "2")).toEqual(["NO_HOSTS_AVAILABLE", expect.any(String)]);
    expect(await xs1.ok("host.get_vms_which_prevent_evacuation", host)).toBeTypeOf("object");
  });

  it("unknown refs → HANDLE_INVALID [class, ref]; unknown uuids → UUID_INVALID [class, uuid]", async () => {
    expect(await xs1.fail("host.get_record", "OpaqueRef:x")).toEqual(["HANDLE_INVALID", "host", "OpaqueRef:x"]);
    expect(await xs1.fail("pool.get_master", "OpaqueRef:x")).toEqual(["HANDLE_INVALID", "pool", "OpaqueRef:x"]);
    expect(await xs1.fail("task.get_status", "OpaqueRef:x")).toEqual(["HANDLE_INVALID", "task", "OpaqueRef:x"]);
    expect(await xs1.fail("host_metrics.get_live", "OpaqueRef:x")).toEqual(["HANDLE_INVALID", "host_metrics", "OpaqueRef:x"]);
    expect(await xs1.fail("host.get_by_uuid", "nope")).toEqual(["UUID_INVALID", "host", "nope"]);
    expect(await xs1.fail("VM.get_by_uuid", "nope")).toEqual(["UUID_INVALID", "VM", "nope"]);
  });

  it("bad parameter types are failures, not crashes", async () => {
    expect(await xs1.fail("host.get_record", { a: "b" })).toEqual(["FIELD_TYPE_ERROR", "self"]);
    expect(await xs1.fail("VM.pool_migrate", "OpaqueRef:a", "OpaqueRef:b", "not-a-map")).toEqual(["FIELD_TYPE_ERROR", "options"]);
    expect((await xs1.call("session.login_with_password", ["root"], PASSWORD)).ErrorDescription).toEqual(["FIELD_TYPE_ERROR", "uname"]);
    expect((await xs1.call("pool.get_all", 42)).ErrorDescription).toEqual(["SESSION_INVALID", "42"]);
  });

  it("system.listMethods returns a bare array of sync names", async () => {
    const reply = await post(sim.hosts[0]!.url, methodCallXml("system.listMethods", []));
    const value = await parseResponse(reply.text);
    expect(Array.isArray(value)).toBe(true);
    const names = value as string[];
    for (const n of ["session.login_with_password", "pool.join", "VM.pool_migrate", "host.evacuate", "task.get_status"]) {
      expect(names).toContain(n);
    }
    expect(names.some((n) => n.startsWith("Async."))).toBe(false);
  });

  it("accepts the underscore alias", async () => {
    expect(await xs1.ok<string[]>("pool_get_all")).toHaveLength(1);
    expect(await xs1.ok<string[]>("host_metrics_get_all")).toHaveLength(1);
  });
});

describe("Async (§8.6)", () => {
  it("Async.session.* and other non-async calls → Fault", async () => {
    expect((await xs1.call("Async.session.login_with_password", "root", PASSWORD)).ErrorDescription).toEqual([
      "Fault",
      "No async mode for this operation (rpc: Async.session.login_with_password)",
    ]);
    expect(await xs1.fail("Async.VM.get_record", "OpaqueRef:x")).toEqual([
      "Fault",
      "No async mode for this operation (rpc: Async.VM.get_record)",
    ]);
    expect(await xs1.fail("Async.VM.nope")).toEqual(["MESSAGE_METHOD_UNKNOWN", "Async.VM.nope"]);
  });

  it("returns a task at once; handler errors land in the task, count/session errors fail the call", async () => {
    const task = await xs1.ok<string>("Async.VM.pool_migrate", "OpaqueRef:bad", "OpaqueRef:bad2", {});
    expect(task).toMatch(/^OpaqueRef:/);
    const s = await until(async () => {
      const status = await xs1.ok<string>("task.get_status", task);
      return status === "pending" ? undefined : status;
    });
    expect(s).toBe("failure");
    expect(await xs1.ok("task.get_error_info", task)).toEqual(["HANDLE_INVALID", "VM", "OpaqueRef:bad"]);
    const record = await xs1.ok<Record<string, unknown>>("task.get_record", task);
    expect(record["name_label"]).toBe("Async.VM.pool_migrate");
    expect(record["progress"]).toBe(1);
    expect(await xs1.ok("task.destroy", task)).toBe("");
    expect(await xs1.fail("task.get_status", task)).toEqual(["HANDLE_INVALID", "task", task]);
    expect(await xs1.fail("Async.VM.pool_migrate", "OpaqueRef:bad")).toEqual([
      "MESSAGE_PARAMETER_COUNT_MISMATCH",
      "Async.VM.pool_migrate",
      "3",
      "1",
    ]);
    expect((await new Xapi(xs1.url).call("Async.VM.pool_migrate", "OpaqueRef:zz", "a", "b", {})).ErrorDescription).toEqual([
      "SESSION_INVALID",
      "OpaqueRef:zz",
    ]);
  });
});
