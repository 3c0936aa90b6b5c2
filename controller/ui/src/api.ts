/**
 * The console's API clients: the generated service descriptors (gen/) over connect-web's Connect
 * transport with JSON, on the page's own origin, with the admin token of the session.
 */
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { BadRequestSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { AggregateService } from "../../../gen/hostaggregates/v1/aggregate_pb.js";
import { EventService } from "../../../gen/hostaggregates/v1/event_pb.js";
import { HostService } from "../../../gen/hostaggregates/v1/host_pb.js";
import { OperationService } from "../../../gen/hostaggregates/v1/operation_pb.js";
import { codeName, xapiErrorOf } from "../../../shared/errors.js";

/** Clients of the admin services. */
export interface Api {
  aggregates: Client<typeof AggregateService>;
  hosts: Client<typeof HostService>;
  operations: Client<typeof OperationService>;
  events: Client<typeof EventService>;
}

/** Creates the clients; `onUnauthenticated` hears of every call the controller refused for the token. */
export function createApi(token: string, onUnauthenticated: (err: ConnectError) => void): Api {
  const auth: Interceptor = (next) => async (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    try {
      return await next(req);
    } catch (err) {
      if (err instanceof ConnectError && err.code === Code.Unauthenticated) onUnauthenticated(err);
      throw err;
    }
  };
  const transport = createConnectTransport({ baseUrl: window.location.origin, interceptors: [auth], useBinaryFormat: false });
  return {
    aggregates: createClient(AggregateService, transport),
    hosts: createClient(HostService, transport),
    operations: createClient(OperationService, transport),
    events: createClient(EventService, transport),
  };
}

/** An API failure as the console shows it: the gRPC code, the API's message and its details. */
export interface ApiProblem {
  /** e.g. FAILED_PRECONDITION; "" for a failure that is not the API's answer. */
  code: string;
  message: string;
  violations: { field: string; description: string }[];
  xapi?: { code: string; params: string[] };
  hint?: string;
}

/** What went wrong, in the API's words. */
export function describeProblem(err: unknown): ApiProblem {
  if (err instanceof ConnectError) {
    const violations = err.findDetails(BadRequestSchema).flatMap((b) => b.fieldViolations.map((v) => ({ field: v.field, description: v.description })));
    const problem: ApiProblem = { code: codeName(err.code), message: err.rawMessage, violations, xapi: xapiErrorOf(err) };
    if (err.code === Code.Unavailable) problem.hint = "Is the controller running? The console reaches it on this page's address.";
    if (err.code === Code.PermissionDenied) problem.hint = "Sign in with an admin token.";
    return problem;
  }
  return { code: "", message: err instanceof Error ? err.message : String(err), violations: [] };
}

/** True for an aborted call (the view went away). */
export function isAbort(err: unknown): boolean {
  return (err instanceof ConnectError && err.code === Code.Canceled) || (err instanceof DOMException && err.name === "AbortError");
}

/** Reads every page of a list call (page tokens), up to `limit` items. */
export async function allPages<T>(fetchPage: (pageToken: string) => Promise<{ items: T[]; next: string }>, limit = 1000): Promise<T[]> {
  const items: T[] = [];
  let token = "";
  do {
    const page = await fetchPage(token);
    items.push(...page.items);
    token = page.next;
  } while (token !== "" && items.length < limit);
  return items;
}
