/** Parsing of HOST:PORT listen and endpoint addresses. */

/** A host and port. */
export interface HostPort {
  host: string;
  port: number;
}

/** Parses "HOST:PORT" (IPv6 as "[::1]:PORT"); throws a message naming the flag on error. */
export function parseHostPort(value: string, what = "address"): HostPort {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) throw new Error(`${what}: expected HOST:PORT, got "${value}"`);
  return { host: match[1] ?? match[2]!, port };
}

/** Formats a host and port as "HOST:PORT". */
export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** True when two XenAPI host addresses name the same host (case and surrounding blanks ignored). */
export function sameAddress(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}
