/** The version documents clients read to negotiate: `GET /` (all versions) and `GET /v2.1` (one), in Nova's shapes. */
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import { formatMicroversion, maxMicroversion, minMicroversion } from "./microversion.js";

/** Nova's `updated` stamp of the v2.1 API. */
const v21Updated = "2013-07-23T11:33:21Z";

/** "http(s)://host:port" as the client addressed us (Nova builds its links from the request too). */
export function baseUrlOf(req: IncomingMessage): string {
  const scheme = (req.socket as TLSSocket).encrypted ? "https" : "http";
  const host = req.headers.host ?? `${req.socket.localAddress ?? "127.0.0.1"}:${req.socket.localPort ?? 80}`;
  return `${scheme}://${host}`;
}

function v21Summary(baseUrl: string) {
  return {
    id: "v2.1",
    status: "CURRENT",
    version: formatMicroversion(maxMicroversion),
    min_version: formatMicroversion(minMicroversion),
    updated: v21Updated,
    links: [{ rel: "self", href: `${baseUrl}/v2.1/` }],
  };
}

/** `GET /`: `{"versions": [...]}`. */
export function versionsDocument(baseUrl: string): unknown {
  return { versions: [v21Summary(baseUrl)] };
}

/** `GET /v2.1`: `{"version": {...}}` with media types and the describedby link. */
export function versionDocument(baseUrl: string): unknown {
  const summary = v21Summary(baseUrl);
  return {
    version: {
      ...summary,
      links: [...summary.links, { rel: "describedby", type: "text/html", href: "http://docs.openstack.org/" }],
      "media-types": [{ base: "application/json", type: "application/vnd.openstack.compute+json;version=2.1" }],
    },
  };
}
