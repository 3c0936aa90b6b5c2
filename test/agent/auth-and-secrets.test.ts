/** Who may call the agent (token, mTLS), and the XAPI password never showing in logs or errors. */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PoolAgentService } from "../../gen/hostaggregates/agent/v1/pool_agent_pb.js";
import { xapiErrorOf } from "../../shared/errors.js";
import { createRpcClient } from "../../shared/rpc/client.js";
import { expectRpcError } from "../support/rpc-errors.js";
import { startAgentWorld, xapiPassword, type AgentWorld } from "./agent-harness.js";
import { makeTlsFixtures, type TlsFixtures } from "./tls-fixtures.js";

let w: AgentWorld;
const errors: ConnectError[] = [];
/** Awaits a failing call, keeps its error for the password check, and returns it. */
async function failing(call: Promise<unknown>, code: Code): Promise<ConnectError> {
  const err = await expectRpcError(call, code);
  errors.push(err);
  return err;
}

beforeAll(async () => {
  w = await startAgentWorld({ sim: { hosts: 2, baseAddress: "127.0.0.170" } });
});
afterAll(async () => {
  await w?.close();
});

describe("who may call the agent", () => {
  const agentClient = (token?: string) => createRpcClient(PoolAgentService, { endpoint: w.agent("xs1").agent.endpoint, token });

  it("refuses calls without a token, with a wrong token, or with an admin token", async () => {
    await failing(agentClient().getHostInfo({}), Code.Unauthenticated);
    await failing(agentClient("not-the-token").getHostInfo({}), Code.Unauthenticated);
    await failing(agentClient(w.controller.adminToken).getPoolInfo({}), Code.Unauthenticated);
    const refusedStream = agentClient().migrateVm({ vmUuid: "x", targetHostUuid: "y" });
    await failing((async () => { for await (const _ of refusedStream) void _; })(), Code.Unauthenticated);
    expect((await agentClient(w.controller.agentToken).getHostInfo({})).name).toBe("xs1");
  });

  it("with a controller token configured, accepts only that token: a host's own agent token no longer opens it", async () => {
    const agent = await w.addAgent("xs2", { hostName: "xs2-strict", controllerToken: "the-controller-only" });
    const client = (token: string) => createRpcClient(PoolAgentService, { endpoint: agent.agent.endpoint, token });
    await failing(client(w.controller.agentToken).getHostInfo({}), Code.Unauthenticated);
    expect((await client("the-controller-only").getHostInfo({})).name).toBe("xs2");
  });

  describe("under mTLS", () => {
    let tls: TlsFixtures;
    let endpoint: string;
    beforeAll(async () => {
      tls = makeTlsFixtures();
      const agent = await w.addAgent("xs2", {
        hostName: "xs2-mtls",
        tls: { server: { cert: tls.serverCert, key: tls.serverKey, clientCa: tls.ca } },
      });
      endpoint = agent.agent.endpoint;
    });

    it("accepts a verified controller certificate without a token", async () => {
      const client = createRpcClient(PoolAgentService, { endpoint, tls: { ca: tls.ca, cert: tls.clientCert, key: tls.clientKey } });
      expect((await client.getHostInfo({})).name).toBe("xs2");
    });

    it("refuses a client without a certificate, and a certificate with a bad token", async () => {
      const noCert = createRpcClient(PoolAgentService, { endpoint, tls: { ca: tls.ca } });
      // The TLS handshake itself refuses it (connect-node reports the alert as INTERNAL).
      await expect(noCert.getHostInfo({})).rejects.toThrow(/certificate required/);
      const badToken = createRpcClient(PoolAgentService, { endpoint, token: "wrong", tls: { ca: tls.ca, cert: tls.clientCert, key: tls.clientKey } });
      await failing(badToken.getHostInfo({}), Code.Unauthenticated);
    });
  });
});

describe("the XAPI password", () => {
  it("is scrubbed from XenAPI error parameters", async () => {
    w.sim.control.setFault("xs2", { method: "pool.join", error: ["SESSION_AUTHENTICATION_FAILED", "root", `bad password ${xapiPassword}`] });
    const err = await failing(w.agent("xs2").client.joinPool({ masterAddress: "127.0.0.170" }), Code.FailedPrecondition);
    expect(xapiErrorOf(err)).toEqual({ code: "SESSION_AUTHENTICATION_FAILED", params: ["root", "bad password [redacted]"] });
  });

  it("never appears in logs or errors, whatever fails", async () => {
    // A wrong password: login refused.
    const wrong = await w.addAgent("xs1", { hostName: "xs1-wrong-password", xapiPassword: `${xapiPassword}-old` });
    const refused = await failing(wrong.client.getHostInfo({}), Code.FailedPrecondition);
    expect(xapiErrorOf(refused)?.code).toBe("SESSION_AUTHENTICATION_FAILED");
    // A hanging XAPI: the per-call timeout.
    const short = await w.addAgent("xs1", { hostName: "xs1-short-timeout", callTimeoutMs: 300 });
    w.sim.control.setFault("xs1", { method: "pool.get_all", hang: true, count: 3 });
    const hung = await failing(short.client.getPoolInfo({}), Code.Unavailable);
    expect(hung.rawMessage).toMatch(/did not answer pool.get_all within 300 ms/);
    w.sim.control.clearFaults("xs1");
    // pool.join with the agent's credentials to a master that is down.
    const down = await failing(w.agent("xs2").client.joinPool({ masterAddress: "127.0.0.179" }), Code.FailedPrecondition);
    expect(xapiErrorOf(down)?.code).toBe("JOINING_HOST_CONNECTION_FAILED");
    // A successful join passes the password to XAPI (it must still not be logged).
    await w.agent("xs2").client.joinPool({ masterAddress: "127.0.0.170" });

    expect(w.logLines.some((l) => l.includes('"method":"JoinPool"'))).toBe(true);
    expect(w.logLines.some((l) => l.includes("SESSION_AUTHENTICATION_FAILED"))).toBe(true);
    const everything = [
      ...w.logLines,
      ...errors.flatMap((e) => [e.message, e.rawMessage, JSON.stringify(xapiErrorOf(e) ?? {}), JSON.stringify([...e.metadata])]),
    ].join("\n");
    expect(errors.length).toBeGreaterThanOrEqual(8);
    expect(everything).not.toContain(xapiPassword);
  });
});
