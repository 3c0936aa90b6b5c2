/** A logger that removes known secret values from every message and field, on top of field-name redaction. */
import type { Logger } from "../shared/logging.js";

function scrubValue(value: unknown, scrub: (text: string) => string, depth = 0): unknown {
  if (typeof value === "string") return scrub(value);
  if (depth > 6 || value === null || typeof value !== "object") return value;
  if (value instanceof Error) return { name: value.name, message: scrub(value.message) };
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, scrub, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubValue(v, scrub, depth + 1)]));
}

/** Wraps `log` so that `scrub` is applied to every message and (recursively) every field value. */
export function scrubbingLogger(log: Logger, scrub: (text: string) => string): Logger {
  const fields = (f?: Record<string, unknown>) => (f ? (scrubValue(f, scrub) as Record<string, unknown>) : undefined);
  return {
    debug: (m, f) => log.debug(scrub(m), fields(f)),
    info: (m, f) => log.info(scrub(m), fields(f)),
    warn: (m, f) => log.warn(scrub(m), fields(f)),
    error: (m, f) => log.error(scrub(m), fields(f)),
    child: (f) => scrubbingLogger(log.child(fields(f) ?? {}), scrub),
  };
}
