/**
 * What aggctl offers: every command's name, usage and summary, and which module implements it.
 * Nothing heavy is imported here, so `aggctl --help` and usage errors answer without loading the
 * protobuf and RPC libraries; main.ts imports a command's module only to run it.
 */
import type { CommandHandlers, CommandSpec } from "./command.js";

/** The commands, in the order help lists them. */
export const commandCatalog = [
  { name: "aggregate-list", group: "aggregate", usage: "aggregate-list [--availability-zone AZ]", summary: "list aggregates (all pages), optionally of one availability zone" },
  { name: "aggregate-create", group: "aggregate", usage: "aggregate-create NAME [AVAILABILITY_ZONE]", summary: "create an aggregate" },
  { name: "aggregate-details", group: "aggregate", usage: "aggregate-details ID", summary: "show an aggregate (by id or name)" },
  { name: "aggregate-update", group: "aggregate", usage: "aggregate-update ID [NAME [AVAILABILITY_ZONE]] [--name NAME] [--availability-zone AZ]", summary: "rename an aggregate and/or change its availability zone" },
  { name: "aggregate-set-metadata", group: "aggregate", usage: "aggregate-set-metadata ID key=value [key=value ...] [key ...]", summary: "set metadata keys; a bare key removes it" },
  { name: "aggregate-delete", group: "aggregate", usage: "aggregate-delete ID", summary: "delete an empty aggregate" },
  { name: "aggregate-add-host", group: "aggregate", usage: "aggregate-add-host ID HOST [--no-wait]", summary: "add a host: it joins the aggregate's pool (waits, showing progress)" },
  { name: "aggregate-remove-host", group: "aggregate", usage: "aggregate-remove-host ID HOST [--no-wait]", summary: "remove a host: it is ejected from the pool (waits, showing progress)" },
  { name: "aggregate-repair", group: "aggregate", usage: "aggregate-repair ID", summary: "re-read the real pool and converge the record to it (clears ERROR)" },
  { name: "aggregate-recover-master", group: "aggregate", usage: "aggregate-recover-master ID [--new-master HOST] [--no-wait]", summary: "promote a surviving member after the pool master failed" },
  {
    name: "aggregate-rolling-maintenance",
    group: "aggregate",
    usage: "aggregate-rolling-maintenance ID [--action reboot|pause|hook] [--hook NAME] [--hosts a,b] [--max-parallel N] [--dry-run] [--skip-return] [--no-wait]",
    summary: "every host in turn: maintenance, the action (default reboot), back in service; then the VMs go home (waits with progress; --dry-run prints the plan)",
  },
  { name: "host-list", group: "host", usage: "host-list [--aggregate ID]", summary: "list registered hosts" },
  { name: "host-show", group: "host", usage: "host-show HOST", summary: "show a host with its resident VMs" },
  { name: "host-enable", group: "host", usage: "host-enable HOST", summary: "enable a host" },
  { name: "host-disable", group: "host", usage: "host-disable HOST", summary: "disable a host" },
  { name: "host-maintenance-start", group: "host", usage: "host-maintenance-start HOST [--dry-run] [--max-parallel N] [--allow-partial] [--no-wait]", summary: "evacuate a host (live-migrate its VMs away) and put it into maintenance" },
  { name: "host-maintenance-stop", group: "host", usage: "host-maintenance-stop HOST [--rebalance] [--no-wait]", summary: "take a host out of maintenance; --rebalance moves its VMs back" },
  { name: "host-forget", group: "host", usage: "host-forget HOST", summary: "forget a registered host that is in no aggregate" },
  { name: "operation-list", group: "operation", usage: "operation-list [--aggregate ID] [--host HOST] [--state STATE] [--limit N]", summary: "list operations, newest first" },
  { name: "operation-show", group: "operation", usage: "operation-show ID", summary: "show an operation with its steps" },
  { name: "operation-wait", group: "operation", usage: "operation-wait ID", summary: "wait for an operation to end, showing progress" },
  { name: "operation-cancel", group: "operation", usage: "operation-cancel ID", summary: "ask a running operation to stop" },
  { name: "operation-resume", group: "operation", usage: "operation-resume ID [--no-wait]", summary: "continue a paused rolling maintenance (waits with progress until it ends or pauses again)" },
  { name: "event-list", group: "operation", usage: "event-list [--aggregate ID] [--limit N] [--follow]", summary: "show recent events, oldest first; --follow streams new ones (with --json: one JSON object per line)" },
] as const satisfies readonly CommandSpec[];

/** A command's name. */
export type CommandName = (typeof commandCatalog)[number]["name"];

/** The names of one group's commands. */
export type GroupCommandName<G extends CommandSpec["group"]> = Extract<(typeof commandCatalog)[number], { group: G }>["name"];

/** Loads the handlers of one group (each group's module must handle exactly its catalog names). */
export const commandGroups: { [G in CommandSpec["group"]]: () => Promise<CommandHandlers<G>> } = {
  aggregate: async () => (await import("./aggregate-commands.js")).aggregateCommands,
  host: async () => (await import("./host-commands.js")).hostCommands,
  operation: async () => (await import("./operation-commands.js")).operationCommands,
};
