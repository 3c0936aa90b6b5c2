/** Structured JSON-line logging with secret redaction. */

export type LogLevel = "debug" | "info" | "warn" | "error";
const levelRank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Field names whose values are never written to a log line. */
const secretFieldPattern = /pass(word)?|secret|token|authorization|credential|private.?key/i;

/** A logger bound to a component and optional context fields (e.g. an operation id). */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger that adds these fields to every line. */
  child(fields: Record<string, unknown>): Logger;
}

/** Where log lines go; tests may capture them. */
export type LogSink = (line: string) => void;

/** Replaces the values of secret-looking fields, recursively. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== "object") {
    return typeof value === "bigint" ? value.toString() : value;
  }
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    out[key] = secretFieldPattern.test(key) ? "[redacted]" : redact(inner, depth + 1);
  }
  return out;
}

/** Creates a logger writing JSON lines (to stderr unless a sink is given). */
export function createLogger(
  component: string,
  options: { level?: LogLevel; sink?: LogSink; fields?: Record<string, unknown> } = {},
): Logger {
  const envLevel = process.env.AGGREGATES_LOG_LEVEL as LogLevel | undefined;
  const minimum = levelRank[options.level ?? envLevel ?? "info"] ?? levelRank.info;
  const sink: LogSink = options.sink ?? ((line) => process.stderr.write(line + "\n"));
  const base = options.fields ?? {};
  const write = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (levelRank[level] < minimum) return;
    const record = { time: new Date().toISOString(), level, component, msg, ...base, ...fields };
    sink(JSON.stringify(redact(record)));
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    child: (fields) => createLogger(component, { level: options.level ?? envLevel, sink, fields: { ...base, ...fields } }),
  };
}

/** A logger that writes nothing. */
export const silentLogger: Logger = createLogger("silent", { sink: () => {} });
