/**
 * aggctl: the operator's command line for host aggregates. Help and usage errors need only the
 * catalog; the RPC clients and a command's module are imported when it runs.
 */
import type { ApiClients } from "./api-clients.js";
import { commandCatalog, commandGroups } from "./catalog.js";
import type { CommandHandler, CommandIo, CommandSpec } from "./command.js";
import { describeUsageError, UsageError } from "./usage-error.js";
import { parseEndpointList } from "../shared/rpc/endpoint-list.js";

const commands: readonly CommandSpec[] = commandCatalog;

const globalUsage = `usage: aggctl [--endpoint HOST:PORT[,HOST:PORT…]] [--token TOKEN] [--json] [--ca F --cert F --key F] COMMAND [ARGS]

Environment: AGGREGATES_ENDPOINT (default 127.0.0.1:50051), AGGREGATES_TOKEN (an admin token).
A comma-separated list names controller replicas: aggctl calls the first that answers.

Commands:
${commands.map((c) => `  ${c.usage}\n      ${c.summary}`).join("\n")}`;

/** Splits global flags (before or after the command) from the command's own arguments. */
function splitArgs(argv: string[]) {
  const global: Record<string, string | boolean> = {};
  const rest: string[] = [];
  const valued = new Set(["--endpoint", "--token", "--ca", "--cert", "--key"]);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    if (valued.has(flag)) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new UsageError(`${flag} needs a value`);
      global[flag.slice(2)] = value;
    } else if (arg === "--json") global.json = true;
    else if (arg === "--help" || arg === "-h") global.help = true;
    else rest.push(arg);
  }
  return { global, rest };
}

/** The controller endpoint aggctl calls (set once the flags are read; named by the UNAVAILABLE hint). */
let endpoint = process.env.AGGREGATES_ENDPOINT ?? "127.0.0.1:50051";

async function main(argv: string[]): Promise<number> {
  const { global, rest } = splitArgs(argv);
  if (typeof global.endpoint === "string") endpoint = global.endpoint;
  try {
    parseEndpointList(endpoint, global.endpoint === undefined ? "AGGREGATES_ENDPOINT" : "--endpoint");
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const [name, ...args] = rest;
  if (!name || name === "help" || (global.help && !name)) {
    console.log(globalUsage);
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) throw new UsageError(`unknown command "${name}"`);
  if (global.help) {
    console.log(`usage: aggctl ${command.usage}\n  ${command.summary}`);
    return 0;
  }
  const [handlers, { connect }, { progressWriter }] = await Promise.all([
    commandGroups[command.group](),
    import("./api-clients.js"),
    import("./progress-line.js"),
  ]);
  const run = (handlers as Record<string, CommandHandler>)[command.name]!;
  let clients: ApiClients | undefined;
  const io: CommandIo = {
    json: global.json === true,
    api: () =>
      (clients ??= connect({
        endpoint,
        token: (global.token as string | undefined) ?? process.env.AGGREGATES_TOKEN,
        caFile: global.ca as string | undefined,
        certFile: global.cert as string | undefined,
        keyFile: global.key as string | undefined,
      })),
    out: (text) => console.log(text),
    note: (text) => console.error(`aggctl: note: ${text}`),
    progress: progressWriter(process.stderr),
  };
  await run(args, io, command.usage);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  async (err: unknown) => {
    const { text, exitCode } =
      err instanceof UsageError ? describeUsageError(err) : (await import("./cli-error.js")).describeError(err, endpoint);
    console.error(text);
    process.exit(exitCode);
  },
);
