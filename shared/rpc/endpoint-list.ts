/** Lists of server endpoints ("A,B,C"): agents' --controller and aggctl's --endpoint name every controller replica. */
import { parseHostPort } from "../address.js";

/** Splits a comma-separated endpoint list; throws a message naming `what` on an empty item or a repeated one. */
export function parseEndpointList(value: string, what = "endpoint"): string[] {
  const endpoints = value.split(",").map((e) => e.trim());
  if (endpoints.some((e) => e === "")) throw new Error(`${what}: expected HOST:PORT or a comma-separated list of them, got "${value}"`);
  const repeated = endpoints.find((e, i) => endpoints.indexOf(e) !== i);
  if (repeated !== undefined) throw new Error(`${what}: "${repeated}" is listed twice`);
  return endpoints;
}

/** Checks a comma-separated list of HOST:PORT endpoints (agents' --controller); returns the endpoints. */
export function parseHostPortList(value: string, what = "endpoint"): string[] {
  const endpoints = parseEndpointList(value, what);
  for (const endpoint of endpoints) parseHostPort(endpoint, what);
  return endpoints;
}
