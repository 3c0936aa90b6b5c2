import http from "node:http";
import { eventually } from "../support/eventually.js";
import { createRequire } from "node:module";
import { Readable } from "node:stream";
import { startSimulator, type Simulator, type SimulatorOptions } from "../../simulator/index.js";

const require = createRequire(import.meta.url);
const Serializer = require("xmlrpc/lib/serializer") as { serializeMethodCall(method: string, params: unknown[]): string };
type DeserializerCtor = new () => {
  deserializeMethodResponse(stream: Readable, cb: (error: Error | null, value?: unknown) => void): void;
};
const Deserializer = require("xmlrpc/lib/deserializer") as DeserializerCtor;

/** Password used by every test simulator. */
export const PASSWORD = "s3cret";

/** Starts a simulator for tests: small timeScale, given base address, ephemeral ports. */
export function startTestSim(baseAddress: string, opts: Partial<SimulatorOptions> = {}): Promise<Simulator> {
  return startSimulator({ hosts: 2, timeScale: 0.001, password: PASSWORD, ...opts, baseAddress, port: 0, controlPort: 0 });
}

/** A raw HTTP reply. */
export interface RawReply {
  status: number;
  contentType: string;
  text: string;
}

/** POSTs a body to a URL over a fresh connection. Rejects with the socket error (e.g. ECONNREFUSED). */
export function post(url: string, body: string, agent: http.Agent | false = false, method = "POST"): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, headers: { "content-type": "text/xml" } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          contentType: String(res.headers["content-type"] ?? ""),
          text: Buffer.concat(chunks).toString("utf8"),
        }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** Serialises a method call with the xmlrpc package (as a typical client would). */
export function methodCallXml(method: string, params: unknown[]): string {
  return Serializer.serializeMethodCall(method, params);
}

/** Parses a methodResponse body with the xmlrpc package (untyped values become strings). */
export function parseResponse(text: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    new Deserializer().deserializeMethodResponse(Readable.from([Buffer.from(text)]), (error, value) =>
      error ? reject(error) : resolve(value),
    );
  });
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
function decodeEntities(text: string): string {
  if (!text.includes("&")) return text;
  return text.replace(/&(#x?[0-9a-fA-F]+|[a-z]+);/g, (all, name: string) => {
    if (name.startsWith("#x")) return String.fromCodePoint(parseInt(name.slice(2), 16));
    if (name.startsWith("#")) return String.fromCodePoint(parseInt(name.slice(1), 10));
    return ENTITIES[name] ?? all;
  });
}

type Frame =
  | { kind: "value"; text: string; result: unknown; typed: boolean }
  | { kind: "scalar"; tag: string; text: string }
  | { kind: "array"; items: unknown[] }
  | { kind: "struct"; obj: Record<string, unknown>; name: string };

/**
 * A fast XML-RPC methodResponse parser for tests (the xmlrpc package's sax
 * parser needs ~0.2 s for a 450 KB VM.get_all_records reply). Same results:
 * untyped values and <i8> are strings, <int>/<i4> numbers.
 */
export function fastParse(xml: string): unknown {
  const stack: Frame[] = [];
  let result: unknown;
  const deliver = (v: unknown): void => {
    const top = stack.at(-1);
    if (!top) result = v;
    else if (top.kind === "array") top.items.push(v);
    else if (top.kind === "struct") top.obj[top.name] = v;
    else if (top.kind === "value") {
      top.result = v;
      top.typed = true;
    }
  };
  const re = /<(\/?)([A-Za-z0-9_.]+)[^>]*?(\/?)>|([^<]+)/g;
  for (let m = re.exec(xml); m; m = re.exec(xml)) {
    const [, close, tag, selfClose, text] = m;
    if (text !== undefined) {
      const top = stack.at(-1);
      if (top && (top.kind === "value" || top.kind === "scalar")) top.text += text;
      continue;
    }
    const t = tag!.toLowerCase();
    if (selfClose) {
      if (t === "value" || t === "string") deliver("");
      else if (t === "nil") deliver(null);
      continue;
    }
    if (!close) {
      if (t === "value") stack.push({ kind: "value", text: "", result: undefined, typed: false });
      else if (t === "array") stack.push({ kind: "array", items: [] });
      else if (t === "struct") stack.push({ kind: "struct", obj: {}, name: "" });
      else if (["string", "int", "i4", "i8", "boolean", "double", "datetime.iso8601", "name", "base64"].includes(t)) {
        stack.push({ kind: "scalar", tag: t, text: "" });
      }
      continue;
    }
    if (t === "value") {
      const f = stack.pop() as Extract<Frame, { kind: "value" }>;
      deliver(f.typed ? f.result : decodeEntities(f.text));
    } else if (t === "array") {
      deliver((stack.pop() as Extract<Frame, { kind: "array" }>).items);
    } else if (t === "struct") {
      deliver((stack.pop() as Extract<Frame, { kind: "struct" }>).obj);
    } else if (stack.at(-1)?.kind === "scalar") {
      const f = stack.pop() as Extract<Frame, { kind: "scalar" }>;
      const v = decodeEntities(f.text);
      if (f.tag === "name") {
        const top = stack.at(-1);
        if (top?.kind === "struct") top.name = v;
      } else if (f.tag === "int" || f.tag === "i4") deliver(parseInt(v, 10));
      else if (f.tag === "boolean") deliver(v === "1");
      else if (f.tag === "double") deliver(parseFloat(v));
      else if (f.tag === "datetime.iso8601") {
        const d = /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):(\d{2}):(\d{2})/.exec(v);
        deliver(d ? new Date(Date.UTC(+d[1]!, +d[2]! - 1, +d[3]!, +d[4]!, +d[5]!, +d[6]!)) : new Date(NaN));
      } else deliver(v);
    }
  }
  return result;
}

/** The XenAPI envelope. */
export interface Envelope {
  Status: string;
  Value?: unknown;
  ErrorDescription?: string[];
}

/** A tiny XenAPI client for tests. */
export class Xapi {
  session = "";
  constructor(
    readonly url: string,
    private readonly agent: http.Agent | false = false,
  ) {}

  /** Any call; returns the envelope. */
  async call(method: string, ...params: unknown[]): Promise<Envelope> {
    const reply = await post(this.url, methodCallXml(method, params), this.agent);
    if (reply.status !== 200) throw new Error(`HTTP ${reply.status}: ${reply.text}`);
    return fastParse(reply.text) as Envelope;
  }

  /** A call with the current session first; expects Success and returns Value. */
  async ok<T = unknown>(method: string, ...params: unknown[]): Promise<T> {
    const env = await this.call(method, this.session, ...params);
    if (env.Status !== "Success") throw new Error(`${method} failed: ${JSON.stringify(env.ErrorDescription)}`);
    return env.Value as T;
  }

  /** A call with the current session first; expects Failure and returns ErrorDescription. */
  async fail(method: string, ...params: unknown[]): Promise<string[]> {
    const env = await this.call(method, this.session, ...params);
    if (env.Status !== "Failure") throw new Error(`${method} unexpectedly succeeded: ${JSON.stringify(env.Value)}`);
    return env.ErrorDescription ?? [];
  }

  /** Logs in (root / test password) and keeps the session. */
  async login(user = "root", password = PASSWORD): Promise<string> {
    const env = await this.call("session.login_with_password", user, password, "2.21", "tests");
    if (env.Status !== "Success") throw new Error(`login failed: ${JSON.stringify(env.ErrorDescription)}`);
    this.session = env.Value as string;
    return this.session;
  }

  /** Logs in with slave_local_login_with_password. */
  async localLogin(): Promise<string> {
    const env = await this.call("session.slave_local_login_with_password", "root", PASSWORD);
    if (env.Status !== "Success") throw new Error(`local login failed: ${JSON.stringify(env.ErrorDescription)}`);
    this.session = env.Value as string;
    return this.session;
  }
}

/** A client for a host of the simulator, by name. */
export function clientFor(sim: Simulator, name: string, agent: http.Agent | false = false): Xapi {
  const host = sim.hosts.find((h) => h.name === name);
  if (!host) throw new Error(`no host ${name}`);
  return new Xapi(host.url, agent);
}

/** The error code of a failed connection (e.g. "ECONNREFUSED"), or "connected". */
export async function connectionOutcome(url: string): Promise<string> {
  try {
    await post(url, methodCallXml("system.listMethods", []));
    return "connected";
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? String(error);
  }
}

/** Joins `joiner` to the pool of `master` and waits until it is a live, enabled slave. */
export async function joinPool(sim: Simulator, joiner: string, master: string): Promise<void> {
  const j = clientFor(sim, joiner);
  await j.login();
  const address = sim.hosts.find((h) => h.name === master)?.address;
  await j.ok("pool.join", address, "root", PASSWORD);
  await sim.control.waitFor((s) => {
    const h = s.hosts.find((x) => x.name === joiner);
    return h?.role === "slave" && h.toolstack === "up" && h.connected && h.live && h.enabled;
  });
}

/** Polls an async predicate (for XenAPI-observed conditions); never a fixed sleep. */
export function until<T>(fn: () => Promise<T | false | null | undefined>, timeoutMs = 10_000): Promise<T> {
  return eventually("a XenAPI-observed condition", async () => (await fn()) ?? undefined, timeoutMs);
}
