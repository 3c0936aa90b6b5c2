/**
 * The OS-AGGREGATES REST API (Nova's os-aggregates, python-novaclient and openstackclient compatible)
 * on the controller's HTTP port: version documents at `/` and `/v2.1`, the extensions list, and
 * `/v1.1/{tenant}/os-aggregates`, `/v2.1[/{tenant}]/os-aggregates` over the domain layer.
 * See docs/os-aggregates.md.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TokenRegistry } from "../../shared/auth.js";
import type { HttpRoute } from "../../shared/rpc/server.js";
import type { IntakeContext } from "../context.js";
import { AggregateHandlers, aggregateIdFrom, type NovaReply } from "./aggregate-handlers.js";
import { requireAdmin } from "./auth.js";
import { extensionList, extensionShow } from "./extension-descriptor.js";
import { NovaFault, faultFrom, itemNotFound, type NovaOperation } from "./faults.js";
import { microversionHeaders, minMicroversion, negotiateMicroversion, type Microversion } from "./microversion.js";
import { matchNovaPath, type NovaTarget } from "./paths.js";
import { readJsonBody } from "./request-body.js";
import { parseAction, parseCreate, parseUpdate } from "./request-shapes.js";
import { sendFault, sendReply } from "./respond.js";
import { baseUrlOf, versionDocument, versionsDocument } from "./version-documents.js";

/** A 405 listing the methods a resource has. */
function badMethod(allowed: string[]): NovaFault {
  return new NovaFault(405, "The method specified is not allowed for this resource.", { Allow: allowed.join(", ") });
}

/** The method as routed: HEAD is answered like GET. */
const methodOf = (req: IncomingMessage) => (req.method === "HEAD" ? "GET" : (req.method ?? "GET"));

/** Throws 405 unless the method is one of `allowed`. */
function expectMethod(req: IncomingMessage, allowed: string[]): string {
  const method = methodOf(req);
  if (!allowed.includes(method)) throw badMethod(allowed);
  return method;
}

/** True when the request has a body this route did not read (not authenticated, refused, too large): close rather than drain it. */
function bodyLeftUnread(req: IncomingMessage): boolean {
  const declaresBody = req.headers["transfer-encoding"] !== undefined || Number(req.headers["content-length"] ?? 0) > 0;
  return declaresBody && !req.readableEnded;
}

/** The operation a request performs, for the error mapping and the log. */
function operationOf(target: NovaTarget, method: string): NovaOperation {
  switch (target.kind) {
    case "versions":
    case "version":
      return "versions";
    case "extensions":
    case "unknown":
      return target.kind;
    case "aggregates":
      return method === "POST" ? "create" : "list";
    case "aggregate":
      return method === "PUT" ? "update" : method === "DELETE" ? "delete" : "show";
    case "aggregate-action":
      return "set_metadata";
  }
}

/** Serves the os-aggregates REST API; `tokens` decides who is an admin. */
export function novaRoutes(ctx: IntakeContext, tokens: TokenRegistry): HttpRoute[] {
  const handlers = new AggregateHandlers(ctx);
  const log = ctx.log.child({ api: "os-aggregates" });

  /** Answers an authenticated API request (everything but the version documents). */
  async function dispatch(
    req: IncomingMessage,
    query: URLSearchParams,
    target: Exclude<NovaTarget, { kind: "versions" | "version" }>,
    v: Microversion,
    call: { operation: NovaOperation },
  ): Promise<NovaReply> {
    switch (target.kind) {
      case "unknown":
        throw itemNotFound();
      case "extensions":
        expectMethod(req, ["GET"]);
        return { status: 200, body: target.alias === undefined ? extensionList() : extensionShow(target.alias) };
      case "aggregates":
        if (expectMethod(req, ["GET", "POST"]) === "GET") return handlers.list(v, query.get("availability_zone") ?? "");
        return handlers.create(v, parseCreate(await readJsonBody(req)));
      case "aggregate": {
        const method = expectMethod(req, ["GET", "PUT", "DELETE"]);
        const id = aggregateIdFrom(target.id);
        if (method === "GET") return handlers.show(v, id);
        if (method === "DELETE") return handlers.delete(id);
        return handlers.update(v, id, parseUpdate(await readJsonBody(req)));
      }
      case "aggregate-action": {
        expectMethod(req, ["POST"]);
        const id = aggregateIdFrom(target.id);
        const action = parseAction(await readJsonBody(req));
        call.operation = action.action;
        return handlers.action(v, id, action);
      }
    }
  }

  const route: HttpRoute = async (req: IncomingMessage, res: ServerResponse) => {
    const raw = req.url ?? "/";
    const queryAt = raw.indexOf("?");
    const pathname = queryAt < 0 ? raw : raw.slice(0, queryAt);
    const query = new URLSearchParams(queryAt < 0 ? "" : raw.slice(queryAt + 1));
    const target = matchNovaPath(pathname);
    if (!target) return false;
    const started = Date.now();
    const requestId = `req-${randomUUID()}`;
    const headers: Record<string, string> = { "X-OpenStack-Request-Id": requestId, "X-Compute-Request-Id": requestId };
    const call = { operation: operationOf(target, methodOf(req)) };
    let status: number;
    try {
      let reply: NovaReply;
      if (target.kind === "versions" || target.kind === "version") {
        expectMethod(req, ["GET"]);
        const base = baseUrlOf(req);
        reply = { status: 200, body: target.kind === "versions" ? versionsDocument(base) : versionDocument(base) };
      } else {
        requireAdmin(req.headers, tokens);
        // Essex's v1.1 had no microversions: it is the v2.1 base, without the headers.
        const version = target.api === "v2.1" ? negotiateMicroversion(req.headers) : minMicroversion;
        if (target.api === "v2.1") Object.assign(headers, microversionHeaders(version));
        reply = await dispatch(req, query, target, version, call);
      }
      status = reply.status;
      if (bodyLeftUnread(req)) headers.Connection = "close";
      sendReply(res, reply.status, reply.body, { ...headers, ...reply.headers });
    } catch (err) {
      const fault = faultFrom(err, call.operation, log);
      status = fault.status;
      if (bodyLeftUnread(req)) headers.Connection = "close";
      sendFault(res, fault, headers);
    }
    log.debug("os-aggregates request", { method: req.method, path: pathname, status, requestId, operation: call.operation, ms: Date.now() - started });
    return true;
  };
  return [route];
}
