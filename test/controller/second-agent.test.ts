/**
 * RegisterHost under a name whose agent is alive elsewhere: refused with ALREADY_EXISTS while the
 * registered agent heartbeated within the liveness window and answers at its endpoint; accepted
 * once the window passed, or when another host's agent now answers at that endpoint. Stand-in
 * agents (real gRPC servers on loopback) play the registered endpoints.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/eventually.js";
import { startFakeAgent, type FakeAgent } from "../support/fake-agent.js";
import { hostRegistration, startTestController, type TestController } from "../support/controller-harness.js";
import { expectRpcError } from "../support/rpc-errors.js";

let h: TestController;
const fakes: FakeAgent[] = [];
const heartbeatIntervalMs = 200;

beforeAll(async () => {
  h = await startTestController({ heartbeatIntervalMs });
});
afterAll(async () => {
  await Promise.all(fakes.map((f) => f.close()));
  await h?.close();
});

async function agentAnswering(uuid: string): Promise<FakeAgent> {
  const fake = await startFakeAgent({ getHostInfo: () => ({ uuid, vms: [] }) });
  fakes.push(fake);
  return fake;
}

const register = (name: string, agentEndpoint: string, hostUuid: string) => h.registry.registerHost(hostRegistration(name, { agentEndpoint, pool: { hostUuid, xapiReachable: true } }));
const endpointOf = async (name: string) => (await h.hosts.getHost({ name })).agentEndpoint;

describe("RegisterHost from a second agent", () => {
  it("is refused while the first answers and heartbeats, naming the holder; accepted once its heartbeats stopped", async () => {
    const first = await agentAnswering("uuid-dup-1");
    await register("dup-1", first.endpoint, "uuid-dup-1");
    const err = await expectRpcError(register("dup-1", "127.0.0.1:2", "uuid-dup-1"), Code.AlreadyExists);
    expect(err.rawMessage).toContain(`host name "dup-1" is held by a live agent at ${first.endpoint}`);
    expect(err.rawMessage).toContain("the agent at 127.0.0.1:2 is refused");
    expect(await endpointOf("dup-1")).toBe(first.endpoint);
    // The same endpoint (a restart) is always accepted.
    await register("dup-1", first.endpoint, "uuid-dup-1");
    // No heartbeat for the liveness window (3 intervals): the name is free although the endpoint still answers.
    await eventually("the liveness window to pass", () => register("dup-1", "127.0.0.1:2", "uuid-dup-1").then(() => true, () => undefined), 10_000);
    expect(await endpointOf("dup-1")).toBe("127.0.0.1:2");
  });

  it("an agent that answers with a status (e.g. its XAPI is down) still holds the name", async () => {
    const down = await startFakeAgent({
      getHostInfo: () => {
        throw new ConnectError("GetHostInfo: XAPI at 192.0.2.10 unreachable", Code.Unavailable);
      },
    });
    fakes.push(down);
    await register("dup-2", down.endpoint, "uuid-dup-2");
    await expectRpcError(register("dup-2", "127.0.0.1:3", "uuid-dup-2"), Code.AlreadyExists);
    expect(await endpointOf("dup-2")).toBe(down.endpoint);
  });

  it("is accepted when nothing answers at the registered endpoint, or another host's agent does", async () => {
    const gone = await agentAnswering("uuid-dup-3");
    await register("dup-3", gone.endpoint, "uuid-dup-3");
    await gone.close();
    await register("dup-3", "127.0.0.1:4", "uuid-dup-3");
    expect(await endpointOf("dup-3")).toBe("127.0.0.1:4");

    const other = await agentAnswering("uuid-of-another-host");
    await register("dup-4", other.endpoint, "uuid-dup-4");
    await register("dup-4", "127.0.0.1:5", "uuid-dup-4");
    expect(await endpointOf("dup-4")).toBe("127.0.0.1:5");
  });
});
