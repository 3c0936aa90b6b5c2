/** XAPI endpoint URLs: parsing, and pointing at another host on the same port (HOST_IS_SLAVE). */

/** Parses an XAPI URL (http or https, no user info). Throws a message without the URL's secrets. */
export function parseXapiUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error("XAPI URL: expected http(s)://HOST[:PORT][/]");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("XAPI URL: scheme must be http or https");
  if (url.username || url.password) throw new Error("XAPI URL: must not contain credentials; use the password file or XAPI_PASSWORD");
  if (url.search || url.hash) throw new Error("XAPI URL: must not contain a query or fragment");
  return url;
}

/** The same endpoint with another host (the master's management address); port, scheme and path kept. */
export function withHost(url: URL, address: string): URL {
  const next = new URL(url.href);
  next.hostname = address.includes(":") && !address.startsWith("[") ? `[${address}]` : address;
  return next;
}

/** The host part of an endpoint without IPv6 brackets (the management address). */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, "");
}

/** True when two endpoints point at the same host and port. */
export function sameEndpoint(a: URL, b: URL): boolean {
  return a.protocol === b.protocol && a.host === b.host;
}
