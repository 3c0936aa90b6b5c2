/** Writing REST answers: JSON bodies, empty 200s and Nova faults, with the request-id headers Nova sends. */
import type { ServerResponse } from "node:http";
import type { NovaFault } from "./faults.js";

/** A JSON body serialized beforehand (e.g. from kept encodings), written as it is. */
export class JsonText {
  constructor(readonly text: string) {}
}

/** Writes one answer; `body` undefined means an empty body (Nova's DELETE answers 200 with none). */
export function sendReply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const payload = body === undefined ? "" : body instanceof JsonText ? body.text : JSON.stringify(body);
  const all: Record<string, string | number> = { ...headers, "Content-Length": Buffer.byteLength(payload) };
  if (body !== undefined) all["Content-Type"] = "application/json";
  res.writeHead(status, all);
  res.end(payload);
}

/** Writes a fault. */
export function sendFault(res: ServerResponse, fault: NovaFault, headers: Record<string, string>): void {
  sendReply(res, fault.status, fault.body(), { ...headers, ...fault.headers });
}
