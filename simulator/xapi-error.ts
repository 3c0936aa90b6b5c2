/** XenAPI failures inside the simulator: the XapiError handlers throw, and its ErrorDescription. */

/** A XenAPI failure: sent as `{Status: "Failure", ErrorDescription: [code, ...params]}`. */
export class XapiError extends Error {
  readonly code: string;
  readonly params: readonly string[];

  constructor(code: string, params: readonly string[] = []) {
    super(`${code}${params.length > 0 ? ` ${JSON.stringify(params)}` : ""}`);
    this.name = "XapiError";
    this.code = code;
    this.params = params;
  }

  /** The ErrorDescription array: `[code, ...params]`. */
  get description(): string[] {
    return [this.code, ...this.params];
  }
}

/** Throws a XapiError; a shorthand for the many precondition checks. */
export function fail(code: string, ...params: string[]): never {
  throw new XapiError(code, params);
}

/** Converts anything thrown by a handler into an ErrorDescription, never throwing. */
export function describeError(error: unknown): string[] {
  if (error instanceof XapiError) return error.description;
  const message = error instanceof Error ? error.message : String(error);
  return ["INTERNAL_ERROR", message];
}
