/** Unwrapping of XenAPI's `{Status, Value | ErrorDescription}` reply envelope. */
import { XapiError, XapiUnreachableError } from "./errors.js";
import { struct, str, type XapiValue } from "./values.js";

/** The Value of a Success reply; throws XapiError for a Failure, XapiUnreachableError for anything else. */
export function unwrapXapiReply(method: string, reply: XapiValue, endpoint: string): XapiValue {
  const envelope = struct(reply);
  if (envelope.Status === "Success") return envelope.Value ?? "";
  if (envelope.Status === "Failure") {
    const description = Array.isArray(envelope.ErrorDescription) ? envelope.ErrorDescription.map((v) => str(v)) : [];
    const [code, ...params] = description;
    throw new XapiError(code || "UNKNOWN_XAPI_ERROR", params, method);
  }
  throw new XapiUnreachableError(`${endpoint} answered ${method} without a XenAPI Status`, "protocol", endpoint);
}
