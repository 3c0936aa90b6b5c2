/** Reading a request body: bounded in size (413 overLimit) and parsed as JSON (400 on malformed input). */
import type { IncomingMessage } from "node:http";
import { NovaFault, badRequest } from "./faults.js";

/** Largest request body accepted (1 MiB). */
export const maxRequestBodyBytes = 1024 * 1024;

const tooLarge = () => new NovaFault(413, `Request is too large: at most ${maxRequestBodyBytes} bytes are accepted.`);

/**
 * Reads the whole body as bytes, refusing more than `limit` bytes. On refusal it stops reading
 * (without destroying the socket, so the 413 can still be sent; the caller closes the connection).
 */
function readBytes(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge());
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
    };
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total > limit) {
        cleanup();
        req.pause();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
  });
}

/** The JSON body of a POST/PUT; 400 when it is empty or not JSON. */
export async function readJsonBody(req: IncomingMessage, limit = maxRequestBodyBytes): Promise<unknown> {
  const bytes = await readBytes(req, limit);
  const text = bytes.toString("utf8");
  if (text.trim() === "") throw badRequest("Malformed request body: a JSON body is required.");
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw badRequest("Malformed request body: it is not valid JSON.");
  }
}
