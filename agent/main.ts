/** aggregates-agent: the agent daemon's command line. SIGINT/SIGTERM close it gracefully. */
import { formatHostPort } from "../shared/address.js";
import { parseCommandLine, usage, UsageError } from "./cli-options.js";

async function main(): Promise<void> {
  const request = parseCommandLine(process.argv.slice(2), process.env);
  if (request.help) {
    console.log(usage);
    return;
  }
  // Loaded after the flags are checked, so mistakes are reported without loading the whole agent.
  const { startAgent } = await import("./index.js");
  const agent = await startAgent(request.options);
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
