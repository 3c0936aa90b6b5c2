/** TLS and mTLS settings shared by servers and clients. */
import { readFileSync } from "node:fs";

/** Paths of the PEM files a server uses. With clientCa, clients must present a certificate signed by it. */
export interface ServerTlsFiles {
  cert: string;
  key: string;
  clientCa?: string;
}

/** PEM contents a server uses. */
export interface ServerTls {
  cert: Buffer;
  key: Buffer;
  clientCa?: Buffer;
}

/** PEM contents a client uses: the CA to trust, and its own certificate for mTLS. */
export interface ClientTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** Reads a server's PEM files. */
export function loadServerTls(files: ServerTlsFiles): ServerTls {
  return {
    cert: readFileSync(files.cert),
    key: readFileSync(files.key),
    clientCa: files.clientCa ? readFileSync(files.clientCa) : undefined,
  };
}

/** Reads a client's PEM files (all optional). */
export function loadClientTls(files: { ca?: string; cert?: string; key?: string }): ClientTls | undefined {
  if (!files.ca && !files.cert && !files.key) return undefined;
  return {
    ca: files.ca ? readFileSync(files.ca) : undefined,
    cert: files.cert ? readFileSync(files.cert) : undefined,
    key: files.key ? readFileSync(files.key) : undefined,
  };
}
