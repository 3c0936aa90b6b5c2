/** aggregates-agent: the agent daemon's command line. SIGINT/SIGTERM close it gracefully. */
import { formatHostPort } from "../shared/address.js";
import { parseCommandLine, usage, UsageError } from "./cli-options.js";
import type { Agent } from "./index.js";

/** Exit status when the controller refuses this agent for good (another live agent holds the host name). */
const refusedExitStatus = 3;

async function main(): Promise<void> {
  const request = parseCommandLine(process.argv.slice(2), process.env);
  if (request.help) {
    console.log(usage);
    return;
  }
  // Loaded after the flags are checked, so mistakes are reported without loading the whole agent.
  const { startAgent } = await import("./index.js");
  // A second agent under a live host's name: say so and exit 3 (a restart would be refused again).
  let agent: Agent | undefined;
  let refused = false;
  const exitRefused = () => void agent?.close().finally(() => process.exit(refusedExitStatus));
  agent = await startAgent({
    ...request.options,
    onRegistrationRefused: (message) => {
      console.error(`aggregates-agent: the controller refused this agent: ${message}`);
      refused = true;
      exitRefused();
    },
  });
  if (refused) exitRefused();
  console.log(`agent for ${request.options.hostName} serving PoolAgentService on ${agent.endpoint}`);
  if (agent.metricsAddress) console.log(`Prometheus metrics on http://${formatHostPort(agent.metricsAddress)}/metrics`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      process.exit(1);
    }
    stopping = true;
    console.log(`${signal}: shutting down`);
    void agent.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

main().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  console.error(`aggregates-agent: ${message}`);
  if (err instanceof UsageError) console.error(usage);
  process.exit(err instanceof UsageError ? 2 : 1);
});
