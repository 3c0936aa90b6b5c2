/**
 * One XML-RPC request over HTTP(S) with the `xmlrpc` package, adding what it lacks: a per-call
 * timeout that destroys the request, cancellation, parameter checks, and typed connection errors.
 */
import http from "node:http";
import https from "node:https";
import xmlrpc from "xmlrpc";
import { XapiUnreachableError, type UnreachableReason } from "./errors.js";
import { assertSendable, type XapiParam, type XapiValue } from "./values.js";

/** TLS settings for https:// XAPI endpoints (XenServer uses a self-signed certificate by default). */
export interface XapiTls {
  /** CA (or the host's own certificate) to trust. */
  ca?: Buffer;
  /** Set false to accept any certificate (not recommended). */
  rejectUnauthorized?: boolean;
}

/** Options of one request. */
export interface TransportCallOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  tls?: XapiTls;
}

// No keep-alive: a toolstack restart kills idle sockets, and a reused dead socket would turn a
// harmless "connection refused" (safe to retry) into an ambiguous "connection reset".
const httpAgent = new http.Agent({ keepAlive: false });
const httpsAgents = new WeakMap<XapiTls, https.Agent>();
const defaultHttpsAgent = new https.Agent({ keepAlive: false });

function agentFor(url: URL, tls: XapiTls | undefined): http.Agent {
  if (url.protocol === "http:") return httpAgent;
  if (!tls) return defaultHttpsAgent;
  let agent = httpsAgents.get(tls);
  if (!agent) {
    agent = new https.Agent({ keepAlive: false, ca: tls.ca, rejectUnauthorized: tls.rejectUnauthorized ?? true });
    httpsAgents.set(tls, agent);
  }
  return agent;
}

/** "scheme://host:port" of an endpoint, for messages (never user info or paths). */
export function endpointName(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

const refusedCodes = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL", "ENOTFOUND", "EAI_AGAIN"]);
const resetCodes = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED", "ERR_STREAM_PREMATURE_CLOSE"]);

function classify(err: unknown): { reason: UnreachableReason; detail: string } {
  const e = err as { code?: unknown; message?: unknown; name?: unknown };
  const code = typeof e?.code === "string" ? e.code : "";
  const message = typeof e?.message === "string" ? e.message : String(err);
  if (refusedCodes.has(code)) return { reason: "refused", detail: code };
  if (resetCodes.has(code) || /socket hang up|aborted/i.test(message)) return { reason: "reset", detail: code || message };
  if (code === "ETIMEDOUT") return { reason: "timeout", detail: code };
  if (message === "Not Found") return { reason: "protocol", detail: "HTTP 404 (not an XML-RPC endpoint?)" };
  if (/XML-RPC|Invalid method response|Not a method response|Unknown XML-RPC tag|Non-whitespace|Unexpected/i.test(message)) {
    return { reason: "protocol", detail: "reply is not XML-RPC" };
  }
  return { reason: "other", detail: code || "request failed" };
}

/**
 * Sends one XML-RPC call and resolves with the decoded reply value. Rejects with
 * XapiUnreachableError when the endpoint cannot be reached, does not answer within
 * timeoutMs, or answers something that is not XML-RPC; with TypeError for unsendable params.
 */
export function xmlrpcCall(url: URL, method: string, params: readonly XapiParam[], options: TransportCallOptions): Promise<XapiValue> {
  params.forEach((p, i) => assertSendable(p, `${method} param ${i}`));
  const endpoint = endpointName(url);
  if (options.signal?.aborted) return Promise.reject(new XapiUnreachableError(`call to ${endpoint} cancelled`, "aborted", endpoint));

  return new Promise<XapiValue>((resolve, reject) => {
    const abort = new AbortController();
    let settled = false;
    const finish = (err: XapiUnreachableError | undefined, value?: XapiValue) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onCallerAbort);
      if (err) reject(err);
      else resolve(value as XapiValue);
    };
    // Only a request still in flight is destroyed (timeout, caller gave up); xmlrpc's own error
    // listeners then receive the AbortError and its callback lands in the settled finish().
    const giveUp = (err: XapiUnreachableError) => {
      finish(err);
      abort.abort();
    };
    const timer = setTimeout(
      () => giveUp(new XapiUnreachableError(`${endpoint} did not answer ${method} within ${options.timeoutMs} ms`, "timeout", endpoint)),
      options.timeoutMs,
    );
    const onCallerAbort = () => giveUp(new XapiUnreachableError(`call to ${endpoint} cancelled`, "aborted", endpoint));
    options.signal?.addEventListener("abort", onCallerAbort, { once: true });

    const requestOptions: http.RequestOptions & Exclude<Parameters<typeof xmlrpc.createClient>[0], string> = {
      host: url.hostname.replace(/^\[|\]$/g, ""),
      port: url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80,
      path: url.pathname || "/",
      agent: agentFor(url, options.tls),
      signal: abort.signal,
      // xmlrpc asks for keep-alive by default; see the agents above.
      headers: { Connection: "close" },
    };
    const client = url.protocol === "https:" ? xmlrpc.createSecureClient(requestOptions) : xmlrpc.createClient(requestOptions);
    try {
      client.methodCall(method, params as unknown[], (error: unknown, value: unknown) => {
        if (!error) return finish(undefined, value as XapiValue);
        const { reason, detail } = classify(error);
        finish(new XapiUnreachableError(`cannot reach XAPI at ${endpoint} (${method}): ${detail}`, reason, endpoint));
      });
    } catch (error) {
      const { reason, detail } = classify(error);
      finish(new XapiUnreachableError(`cannot reach XAPI at ${endpoint} (${method}): ${detail}`, reason, endpoint));
    }
  });
}
