/** The start and end of the bench's own server processes (echo, raw grpc-js, raw node:http, raw node:http2). */
import type { AddressInfo, Server } from "node:net";
import { formatHostPort, parseHostPort } from "../../shared/address.js";

/** Runs the server's main; a failure to start is printed as `NAME: message` and ends the process with status 1. */
export function runServer(name: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    console.error(`${name}: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}

/** On SIGTERM or SIGINT: closes the server, then exits 0. */
export function closeOnSignals(close: () => Promise<void>): void {
  const stop = () => void close().then(() => process.exit(0));
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

/** Listens on a --listen HOST:PORT (port 0: a free one); resolves with the address bound, as HOST:PORT. */
export async function listenOn(server: Server, listen: string): Promise<string> {
  const { host, port } = parseHostPort(listen, "--listen");
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return formatHostPort({ host, port: (server.address() as AddressInfo).port });
}
