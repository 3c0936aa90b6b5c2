/**
 * Debian's python-novaclient (`nova`) against the controller, unchanged: admin-token auth on the
 * v2.1 endpoint, microversion negotiation, every aggregate command, and a Nova fault as the CLI shows it.
 * Skipped, with the reason in the test name, when the `nova` program is not installed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { putHostInAggregate, type TestController } from "../support/controller-harness.js";
import { parseTable, registerHosts, runCli, startFakeAgent, startRestController, which, type FakeAgent } from "./rest-harness.js";

const nova = which("nova");
const skipReason = nova ? "" : " [SKIPPED: the `nova` CLI is not installed (Debian package python3-novaclient)]";

let h: TestController;
let agent: FakeAgent;
beforeAll(async () => {
  if (!nova) return;
  h = await startRestController();
  agent = await startFakeAgent();
  await registerHosts(h, ["nova-h1", "nova-h2"], agent.endpoint);
});
afterAll(async () => {
  await h?.close();
  await agent?.close();
});

/** `nova --os-auth-type admin_token --os-endpoint …/v2.1 --os-token … ARGS`; nova also insists on a project id and an auth URL. */
async function novaCli(...args: string[]): Promise<string> {
  const res = await runCli(nova!, h, args, { OS_PROJECT_ID: "admin", OS_AUTH_URL: "http://unused.invalid/" });
  expect(res.code, `nova ${args.join(" ")}\n${res.stdout}\n${res.stderr}`).toBe(0);
  return res.stdout;
}

/** The single row of a details table. */
const detailsRow = (out: string) => {
  const rows = parseTable(out);
  expect(rows, out).toHaveLength(1);
  return rows[0]!;
};

describe(`nova aggregate-* commands${skipReason}`, () => {
  it.skipIf(!nova)(`create, list, update, set-metadata, show${skipReason}`, { timeout: 120_000 }, async () => {
    const created = detailsRow(await novaCli("aggregate-create", "nova-agg", "nova-az1"));
    expect(created).toMatchObject({ Name: "nova-agg", "Availability Zone": "nova-az1", Hosts: "" });
    const id = created.Id!;
    const grpc = await h.aggregates.getAggregate({ id: BigInt(id) });
    expect(created.UUID, "2.41 was negotiated, so the UUID column is there").toBe(grpc.uuid);

    const list = parseTable(await novaCli("aggregate-list"));
    expect(list).toContainEqual({ Id: id, Name: "nova-agg", "Availability Zone": "nova-az1", UUID: grpc.uuid });

    const updated = await novaCli("aggregate-update", "nova-agg", "--name", "nova-agg2", "--availability-zone", "nova-az2");
    expect(updated).toContain(`Aggregate ${id} has been successfully updated.`);
    expect(detailsRow(updated)).toMatchObject({ Name: "nova-agg2", "Availability Zone": "nova-az2" });

    const set = await novaCli("aggregate-set-metadata", "nova-agg2", "k1=v1", "k2=v2");
    expect(set).toContain(`Metadata has been successfully updated for aggregate ${id}.`);
    expect(detailsRow(set).Metadata).toBe("'availability_zone=nova-az2', 'k1=v1', 'k2=v2'");
    // A bare key sends null, which deletes it.
    await novaCli("aggregate-set-metadata", id, "k1");

    const shown = detailsRow(await novaCli("aggregate-show", "nova-agg2"));
    expect(shown).toEqual({ Id: id, Name: "nova-agg2", "Availability Zone": "nova-az2", Hosts: "", Metadata: "'availability_zone=nova-az2', 'k2=v2'", UUID: grpc.uuid });
    const after = await h.aggregates.getAggregate({ id: BigInt(id) });
    expect([after.name, after.availabilityZone, after.metadata]).toEqual(["nova-agg2", "nova-az2", { k2: "v2" }]);
  });

  it.skipIf(!nova)(`add-host, remove-host, delete, and a fault as nova shows it${skipReason}`, { timeout: 120_000 }, async () => {
    const joinAt = (await h.aggregates.createAggregate({ name: "nova-join" })).id;
    const leaveFrom = (await h.aggregates.createAggregate({ name: "nova-leave" })).id;
    const doomed = (await h.aggregates.createAggregate({ name: "nova-doomed" })).id;
    await putHostInAggregate(h, "nova-h2", leaveFrom);

    const [added, removed, deleted, conflict] = await Promise.all([
      novaCli("aggregate-add-host", "nova-join", "nova-h1"),
      novaCli("aggregate-remove-host", String(leaveFrom), "nova-h2"),
      novaCli("aggregate-delete", "nova-doomed"),
      runCli(nova!, h, ["aggregate-create", "nova-join"], { OS_PROJECT_ID: "admin", OS_AUTH_URL: "http://unused.invalid/" }),
    ]);
    expect(added).toContain(`Host nova-h1 has been successfully added for aggregate ${joinAt}`);
    expect(detailsRow(added).Hosts).toBe("'nova-h1'");
    expect(removed).toContain(`Host nova-h2 has been successfully removed from aggregate ${leaveFrom}`);
    expect(detailsRow(removed).Hosts).toBe("");
    expect(deleted).toContain(`Aggregate ${doomed} has been successfully deleted.`);
    expect((await h.aggregates.listAggregates({})).aggregates.map((a) => a.name)).not.toContain("nova-doomed");

    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toContain('ERROR (Conflict): an aggregate named "nova-join" already exists (HTTP 409)');
  });
});
