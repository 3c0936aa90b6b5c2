/** What every PoolAgentService handler needs: the XenAPI client, settings, and what is known about the own host. */
import type { Logger } from "../../shared/logging.js";
import type { AgentTimings } from "../config.js";
import type { XapiClient } from "../xapi/client.js";
import type { XapiCredentials } from "../xapi/credentials.js";
import type { HookSettings } from "./run-hook.js";

/** Facts about the own host remembered across calls (they survive XAPI outages). */
export interface HostIdentity {
  /** XenServer host uuid, once seen. */
  uuid?: string;
  /** Last known master address. */
  masterAddress?: string;
  /** Last known pool uuid and name. */
  poolUuid?: string;
  poolName?: string;
}

/** Shared state of the handlers. */
export interface AgentContext {
  xapi: XapiClient;
  credentials: XapiCredentials;
  /** The host name the agent registers under (also used to recognise its host record). */
  hostName: string;
  timings: AgentTimings;
  identity: HostIdentity;
  log: Logger;
  /** The hooks RunHook may run (none when absent). */
  hooks?: HookSettings;
}
