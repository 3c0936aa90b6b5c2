/**
 * The HandlerContext of one call served on grpc-js, built lazily. connect's createHandlerContext
 * makes five Headers, two AbortControllers, a deadline timer (left pending until the deadline when
 * nobody aborts the context) and listeners on the shutdown signal for every call. Here the request
 * headers, the response headers and the signal exist only once a handler reads them, and end()
 * releases what the signal set up. Most handlers of this project read none of them.
 */
import * as grpc from "@grpc/grpc-js";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, type ContextValues, type HandlerContext } from "@connectrpc/connect";

/** The parts of a grpc-js call that every call kind has. */
export interface SurfaceCall {
  readonly metadata: grpc.Metadata;
  readonly cancelled: boolean;
  getDeadline(): grpc.Deadline;
  getAuthContext(): { sslPeerCertificate?: unknown } | undefined;
  on(event: "cancelled", listener: () => void): unknown;
  off?(event: "cancelled", listener: () => void): unknown;
}

/** Request metadata as Headers (binary values base64, as the gRPC wire shows them). */
export function metadataHeaders(metadata: grpc.Metadata): Headers {
  const headers = new Headers();
  for (const [key, value] of Object.entries(metadata.getMap())) {
    headers.set(key, typeof value === "string" ? value : Buffer.from(value).toString("base64"));
  }
  return headers;
}

/** The first value of a text metadata key, or null. */
export function metadataValue(metadata: grpc.Metadata, key: string): string | null {
  const [value] = metadata.get(key);
  return typeof value === "string" ? value : null;
}

/** The absolute deadline of a call in ms since the epoch, or undefined when it has none. */
function deadlineOf(call: SurfaceCall): number | undefined {
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(at) ? at : undefined;
}

/** What every call of one method shares. */
export interface MethodContext {
  service: DescService;
  method: DescMethod;
  url: string;
  shutdownSignal: AbortSignal;
}

/** A HandlerContext whose parts are made on first use; end() once the call has been answered. */
export class GrpcCallContext implements HandlerContext {
  readonly protocolName = "grpc";
  readonly requestMethod = "POST";
  readonly service: DescService;
  readonly method: DescMethod;
  readonly url: string;
  readonly #deadlineAt: number | undefined;
  #requestHeader: Headers | undefined;
  #responseHeader: Headers | undefined;
  #responseTrailer: Headers | undefined;
  #abort: AbortController | undefined;
  #release: (() => void) | undefined;

  constructor(
    private readonly call: SurfaceCall,
    private readonly shared: MethodContext,
    readonly values: ContextValues,
  ) {
    this.service = shared.service;
    this.method = shared.method;
    this.url = shared.url;
    this.#deadlineAt = deadlineOf(call);
  }

  readonly timeoutMs = (): number | undefined => (this.#deadlineAt === undefined ? undefined : Math.max(0, this.#deadlineAt - Date.now()));

  get requestHeader(): Headers {
    return (this.#requestHeader ??= metadataHeaders(this.call.metadata));
  }

  get responseHeader(): Headers {
    return (this.#responseHeader ??= new Headers());
  }

  get responseTrailer(): Headers {
    return (this.#responseTrailer ??= new Headers());
  }

  /** Aborted when the client cancels, the deadline passes or the server shuts down. */
  get signal(): AbortSignal {
    if (this.#abort) return this.#abort.signal;
    const abort = (this.#abort = new AbortController());
    const { call } = this;
    const { shutdownSignal } = this.shared;
    const timedOut = () => abort.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded));
    // grpc-js cancels a call whose deadline passed, often before the timer below fires.
    const onCancel = () => (this.timeoutMs() === 0 ? timedOut() : abort.abort(new ConnectError("call cancelled by the client", Code.Canceled)));
    const onShutdown = () => abort.abort(shutdownSignal.reason);
    const remaining = this.timeoutMs();
    const timer = remaining === undefined ? undefined : setTimeout(timedOut, remaining);
    if (call.cancelled) onCancel();
    else call.on("cancelled", onCancel);
    if (shutdownSignal.aborted) onShutdown();
    else shutdownSignal.addEventListener("abort", onShutdown, { once: true });
    this.#release = () => {
      clearTimeout(timer);
      call.off?.("cancelled", onCancel);
      shutdownSignal.removeEventListener("abort", onShutdown);
    };
    return abort.signal;
  }

  /** Releases the signal's timer and listeners (the call has been answered). */
  end(): void {
    this.#release?.();
    this.#release = undefined;
  }
}
