/**
 * `--config FILE` for the daemons. The file is one JSON object whose keys are the daemon's long flag
 * names without the dashes and whose values are what the flag takes:
 *
 *   { "listen": "0.0.0.0:50051", "tls-cert": "/etc/aggregates/controller.pem", "step-timeout": 600 }
 *
 * The keys are derived from the same parseArgs option table that defines the flags, so every flag is
 * a key and nothing else is: an unknown key is an error that names it. A flag given on the command
 * line overrides the file, and the file overrides the flag's default. A value means exactly what the
 * flag's value means (relative paths are relative to the working directory, as on the command line).
 * Secrets stay out of the file: it names the token and password files, like the flags.
 */
import { readFileSync } from "node:fs";
import { parseArgs, type ParseArgsConfig } from "node:util";

type Options = NonNullable<ParseArgsConfig["options"]>;
type OptionConfig = Options[string];

/** What parseArgs returns for these options (strict, no positionals), plus the config file's path. */
export type ConfiguredValues<O extends Options> = ReturnType<typeof parseArgs<{ options: O; strict: true; allowPositionals: false }>>["values"] & {
  config?: string;
};

/** A command-line or config-file mistake; the message names the flag or the key. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/**
 * Parses argv like parseArgs({ options, strict: true }) plus `--config FILE`. cliOnly names the
 * options that only make sense on the command line (e.g. help); they are not config keys.
 * With --help no config file is read. Throws ConfigError (parseArgs' own errors included).
 */
export function parseArgsWithConfig<O extends Options>(args: string[], options: O, cliOnly: readonly (keyof O & string)[] = []): ConfiguredValues<O> {
  if (Object.hasOwn(options, "config")) throw new Error('"config" is the config file\'s own flag');
  const withoutDefaults: Options = {};
  const defaults: Record<string, unknown> = {};
  for (const [name, option] of Object.entries(options)) {
    const { default: value, ...rest } = option;
    withoutDefaults[name] = rest;
    if (value !== undefined) defaults[name] = value;
  }
  let given: Record<string, unknown>;
  try {
    ({ values: given } = parseArgs({ args, options: { ...withoutDefaults, config: { type: "string" } }, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new ConfigError(err instanceof Error ? err.message : String(err));
  }
  const fromFile = typeof given.config === "string" && given.help !== true ? readConfigFile(given.config, options, cliOnly) : {};
  return { ...defaults, ...fromFile, ...given } as ConfiguredValues<O>;
}

/** The config keys of an option table: every option except the command-line-only ones. */
export function configKeys(options: Options, cliOnly: readonly string[] = []): string[] {
  return Object.keys(options).filter((name) => !cliOnly.includes(name));
}

/** Reads and checks a config file against the option table; returns the values by option name. */
export function readConfigFile(path: string, options: Options, cliOnly: readonly string[] = []): Record<string, unknown> {
  const where = `--config ${path}`;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError(`${where}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${where}: not valid JSON (${(err as Error).message})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`${where}: expected a JSON object of flag names and values, e.g. {"listen": "127.0.0.1:50051"}`);
  }
  const keys = configKeys(options, cliOnly);
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(parsed)) {
    const option = keys.includes(key) ? options[key] : undefined;
    if (!option) {
      const hint = key.startsWith("-") && keys.includes(key.replace(/^-+/, "")) ? ` (write it without the dashes: "${key.replace(/^-+/, "")}")` : "";
      throw new ConfigError(`${where}: unknown key "${key}"${hint}; the keys are the flags without "--": ${keys.join(", ")}`);
    }
    values[key] = option.multiple ? checkList(where, key, option, value) : checkValue(where, key, option, value);
  }
  return values;
}

function checkList(where: string, key: string, option: OptionConfig, value: unknown): unknown[] {
  if (!Array.isArray(value)) throw new ConfigError(`${where}: "${key}" must be a list, got ${describe(value)}`);
  return value.map((item) => checkValue(where, key, option, item));
}

function checkValue(where: string, key: string, option: OptionConfig, value: unknown): string | boolean {
  if (option.type === "boolean") {
    if (typeof value !== "boolean") throw new ConfigError(`${where}: "${key}" must be true or false, got ${describe(value)}`);
    return value;
  }
  // A number is accepted for a string flag (e.g. "step-timeout": 600) and checked by the flag's own rules.
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  if (typeof value !== "string") throw new ConfigError(`${where}: "${key}" must be a string (or a number), got ${describe(value)}`);
  return value;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "an object" : `${typeof value} ${JSON.stringify(value)}`;
}
