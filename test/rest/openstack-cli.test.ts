/**
 * Debian's python-openstackclient (`openstack`, on openstacksdk) against the controller, unchanged:
 * admin-token auth on the v2.1 endpoint, version discovery, every aggregate command, and a fault.
 * Skipped, with the reason in the test name, when the `openstack` program is not installed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { putHostInAggregate, type TestController } from "../support/controller-harness.js";
import { registerHosts, runCli, startFakeAgent, startRestController, which, type CliResult, type FakeAgent } from "./rest-harness.js";

const openstack = which("openstack");
const skipReason = openstack ? "" : " [SKIPPED: the `openstack` CLI is not installed (Debian package python3-openstackclient)]";

let h: TestController;
let agent: FakeAgent;
beforeAll(async () => {
  if (!openstack) return;
  h = await startRestController();
  agent = await startFakeAgent();
  await registerHosts(h, ["os-h1", "os-h2"], agent.endpoint);
});
afterAll(async () => {
  await h?.close();
  await agent?.close();
});

/** `openstack --os-auth-type admin_token --os-endpoint …/v2.1 --os-token … ARGS`, which must succeed. */
async function osc(...args: string[]): Promise<string> {
  const res: CliResult = await runCli(openstack!, h, args);
  expect(res.code, `openstack ${args.join(" ")}\n${res.stdout}\n${res.stderr}`).toBe(0);
  return res.stdout;
}
/** `osc(...)` with `-f json`, parsed (untyped: tests check it field by field). */
const oscJson = async (...args: string[]): Promise<any> => JSON.parse(await osc(...args, "-f", "json"));

describe(`openstack aggregate commands${skipReason}`, () => {
  it.skipIf(!openstack)(`create, list, show, set, unset${skipReason}`, { timeout: 120_000 }, async () => {
    const created = await oscJson("aggregate", "create", "--zone", "os-az1", "--property", "p1=v1", "os-agg");
    expect(created).toMatchObject({ name: "os-agg", availability_zone: "os-az1", is_deleted: false, deleted_at: null });
    const id = created.id as number;
    expect(created.properties).toMatchObject({ p1: "v1" });

    const list = await oscJson("aggregate", "list");
    expect(list).toContainEqual({ ID: id, Name: "os-agg", "Availability Zone": "os-az1" });

    await osc("aggregate", "set", "--name", "os-agg2", "--zone", "os-az2", "--property", "p2=v2", "os-agg");
    await osc("aggregate", "unset", "--property", "p1", "os-agg2");
    const shown = await oscJson("aggregate", "show", "os-agg2");
    const grpc = await h.aggregates.getAggregate({ id: BigInt(id) });
    expect(shown).toMatchObject({ id, name: "os-agg2", availability_zone: "os-az2", hosts: [], properties: { p2: "v2" }, uuid: grpc.uuid });
    expect([grpc.name, grpc.availabilityZone, grpc.metadata]).toEqual(["os-agg2", "os-az2", { p2: "v2" }]);
  });

  it.skipIf(!openstack)(`add host, remove host, delete, and a fault as openstack shows it${skipReason}`, { timeout: 120_000 }, async () => {
    await h.aggregates.createAggregate({ name: "os-join" });
    const leaveFrom = (await h.aggregates.createAggregate({ name: "os-leave" })).id;
    await h.aggregates.createAggregate({ name: "os-doomed" });
    await putHostInAggregate(h, "os-h2", leaveFrom);

    const [added, removed, deleted, conflict] = await Promise.all([
      oscJson("aggregate", "add", "host", "os-join", "os-h1"),
      oscJson("aggregate", "remove", "host", "os-leave", "os-h2"),
      osc("aggregate", "delete", "os-doomed"),
      runCli(openstack!, h, ["aggregate", "create", "os-join"]),
    ]);
    expect(added).toMatchObject({ name: "os-join", hosts: ["os-h1"] });
    expect(removed).toMatchObject({ name: "os-leave", hosts: [] });
    expect(deleted).toBe("");
    expect((await h.aggregates.listAggregates({})).aggregates.map((a) => a.name)).not.toContain("os-doomed");

    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toContain("ConflictException: 409");
    expect(conflict.stderr).toContain('an aggregate named "os-join" already exists');
  });
});
