/**
 * A stand-in agent for controller tests: by default GetHostInfo answers "no VMs" (so RemoveHost can
 * be accepted without a XenServer); every call not implemented is UNIMPLEMENTED, so operations fail later.
 */
import * as http2 from "node:http2";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import type { ServiceImpl } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { PoolAgentService } from "../../gen/hostaggregates/agent/v1/pool_agent_pb.js";

/** A running stand-in agent. */
export interface FakeAgent {
  endpoint: string;
  close(): Promise<void>;
}

/** Starts a FakeAgent on loopback port 0 (gRPC over h2c) serving `handlers`. */
export async function startFakeAgent(handlers: Partial<ServiceImpl<typeof PoolAgentService>> = { getHostInfo: () => ({ vms: [] }) }): Promise<FakeAgent> {
  const server = http2.createServer(connectNodeAdapter({ routes: (router) => router.service(PoolAgentService, handlers) }));
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // The controller keeps its HTTP/2 session open: close it so server.close() can finish.
        for (const session of sessions) session.close();
      }),
  };
}

/** A TCP server that accepts connections and never answers (an agent that hangs), counting the connections. */
export interface SilentAgent {
  endpoint: string;
  /** Connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

/** Starts a SilentAgent on loopback port 0. */
export async function startSilentAgent(): Promise<SilentAgent> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on("error", () => {});
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `127.0.0.1:${port}`,
    connections: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
