/** The shape of an aggctl command. */
import { parseArgs, type ParseArgsConfig } from "node:util";
import type { ApiClients } from "./api-clients.js";
import type { GroupCommandName } from "./catalog.js";
import { UsageError } from "./usage-error.js";

/** What a command gets to work with. */
export interface CommandIo {
  /** Clients of the controller (connects lazily). */
  api(): ApiClients;
  /** Writes a line of output. */
  out(text: string): void;
  /** Writes a note for the operator to stderr (never mixed into --json output). */
  note(text: string): void;
  /** Writes progress to stderr (a rewritten line on a terminal). */
  progress(text: string, final?: boolean): void;
  /** True when --json was given. */
  json: boolean;
}

/** The modules that implement commands (see catalog.ts). */
export type CommandGroup = "aggregate" | "host" | "operation";

/** One aggctl command as help shows it. */
export interface CommandSpec {
  name: string;
  group: CommandGroup;
  usage: string;
  summary: string;
}

/** Runs one command; usage is the command's usage line from the catalog. */
export type CommandHandler = (args: string[], io: CommandIo, usage: string) => Promise<void>;

/** A group's handlers: exactly one per catalog command of that group (the compiler checks both ways). */
export type CommandHandlers<G extends CommandGroup> = { [N in GroupCommandName<G>]: CommandHandler };

/** Parses a command's arguments, turning parse errors into usage errors. */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig["options"]>>(
  args: string[],
  options: T,
  positionals: { min: number; max: number; usage: string },
) {
  try {
    const parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
    if (parsed.positionals.length < positionals.min || parsed.positionals.length > positionals.max) {
      throw new UsageError(`usage: aggctl ${positionals.usage}`);
    }
    return parsed;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`${err instanceof Error ? err.message : String(err)}\nusage: aggctl ${positionals.usage}`);
  }
}
