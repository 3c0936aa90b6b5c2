/**
 * Registration with the controller: RegisterHost at start and whenever the host's toolstack
 * restarted or its role or pool changed, Heartbeat with fresh capacity and pool facts at the
 * interval the controller names, exponential capped backoff while the controller is unreachable,
 * and re-registration when a heartbeat answers `reregister`. While the own XAPI is down it is polled
 * every poll interval, and its return is reported at once (xapi-return-watch.ts). A RegisterHost refused with
 * ALREADY_EXISTS (another live agent holds the host name) ends the loop for good.
 */
import type { Duration } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import { AgentRegistryService } from "../../gen/hostaggregates/v1/agent_registry_pb.js";
import type { Logger } from "../../shared/logging.js";
import type { AgentContext } from "../service/agent-context.js";
import { agentVersion } from "../version.js";
import { Backoff, type BackoffOptions } from "./backoff.js";
import { readHostReport, type HostReport } from "./host-report.js";
import { watchForXapiReturn } from "./xapi-return-watch.js";

/** Options of the registrar. */
export interface RegistrarOptions {
  ctx: AgentContext;
  client: Client<typeof AgentRegistryService>;
  /** host:port the controller calls the agent on. */
  agentEndpoint: string;
  availabilityZone: string;
  /** Heartbeat interval until the controller names one (and when it names none). */
  heartbeatIntervalMs: number;
  backoff: BackoffOptions;
  /** Timeout of each call to the controller. */
  callTimeoutMs: number;
  log: Logger;
  /** Called once when the controller refuses the registration for good (another live agent holds the name). */
  onRefused?: (message: string) => void;
}

/** What was last registered, to notice changes that need a new registration. */
interface Registered {
  epoch: number;
  role: number;
  hostUuid: string;
  poolUuid: string;
  masterAddress: string;
}

/** Counters for observability and tests. */
export interface RegistrarStats {
  registrations: number;
  heartbeats: number;
  failures: number;
  /** The controller's message when it refused the registration for good (the loop then ended). */
  refused?: string;
  /** Last report sent. */
  lastReport?: HostReport;
}

const durationMs = (d: Duration | undefined): number | undefined =>
  d && (d.seconds > 0n || d.nanos > 0) ? Number(d.seconds) * 1000 + Math.floor(d.nanos / 1e6) : undefined;

/** Runs the register/heartbeat loop until stopped. */
export class Registrar {
  readonly stats: RegistrarStats = { registrations: 0, heartbeats: 0, failures: 0 };
  readonly #stop = new AbortController();
  readonly #backoff: Backoff;
  #registered: Registered | undefined;
  #intervalMs: number;
  #wakePending = false;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(private readonly options: RegistrarOptions) {
    this.#backoff = new Backoff(options.backoff);
    this.#intervalMs = options.heartbeatIntervalMs;
  }

  /** The heartbeat interval in use (the controller's once it answered). */
  get intervalMs(): number {
    return this.#intervalMs;
  }

  /** Starts the loop; toolstack changes seen by any XAPI call wake it at once. */
  start(): void {
    if (this.#loop) return;
    this.#unsubscribe = this.options.ctx.xapi.monitor.onChange((change) => {
      this.options.log.info("XAPI change noticed", { change: change.kind, reason: change.reason });
      this.wake();
    });
    this.#loop = this.run();
  }

  /** Runs the next register/heartbeat now. */
  wake(): void {
    this.#wakePending = true;
    this.#wake?.();
  }

  /** Stops the loop and waits for it to end. */
  async stop(): Promise<void> {
    this.#unsubscribe?.();
    this.#stop.abort(new Error("agent stopping"));
    this.#wake?.();
    await this.#loop;
  }

  private async run(): Promise<void> {
    const { log } = this.options;
    while (!this.#stop.signal.aborted) {
      let waitMs: number;
      try {
        waitMs = await this.tick();
        this.#backoff.reset();
      } catch (err) {
        if (this.#stop.signal.aborted) break;
        if (err instanceof ConnectError && err.code === Code.AlreadyExists) {
          // Retrying cannot help while the other agent lives: an operator must decide which one runs.
          this.stats.refused = err.rawMessage;
          log.error("registration refused: another live agent holds this host name; no more registrations or heartbeats", { error: err.rawMessage });
          this.options.onRefused?.(err.rawMessage);
          break;
        }
        this.stats.failures++;
        waitMs = this.#backoff.next();
        log.warn("controller unreachable or refused; backing off", {
          error: err instanceof Error ? this.options.ctx.credentials.scrub(err.message) : String(err),
          retryInMs: waitMs,
          failures: this.#backoff.failures,
        });
      }
      await this.pause(waitMs);
    }
  }

  /** Sleeps until the next report is due; while the own XAPI is down, its return ends the sleep at once. */
  private async pause(ms: number): Promise<void> {
    if (this.stats.lastReport?.pool.xapiReachable !== false) return this.sleep(ms);
    const watch = new AbortController();
    const watching = watchForXapiReturn(this.options.ctx, AbortSignal.any([watch.signal, this.#stop.signal]), () => {
      this.options.log.info("own XAPI answers again; reporting at once");
      this.wake();
    });
    await this.sleep(ms);
    watch.abort();
    await watching;
  }

  /** One register or heartbeat; returns how long to wait before the next. */
  private async tick(): Promise<number> {
    this.#wakePending = false;
    const { ctx, client, log } = this.options;
    const signal = this.#stop.signal;
    const report = await readHostReport(ctx, signal);
    const epoch = ctx.xapi.monitor.epoch;
    this.stats.lastReport = report;
    const callOptions = { signal, timeoutMs: this.options.callTimeoutMs };
    const why = this.registrationReason(report, epoch);
    if (why) {
      const response = await client.registerHost(
        {
          name: ctx.hostName,
          xapiAddress: ctx.xapi.address,
          agentEndpoint: this.options.agentEndpoint,
          availabilityZoneHint: this.options.availabilityZone,
          capacity: report.capacity,
          pool: report.pool,
          agentVersion,
        },
        callOptions,
      );
      this.#registered = {
        epoch,
        role: report.pool.role,
        hostUuid: report.pool.hostUuid ?? "",
        poolUuid: report.pool.poolUuid ?? "",
        masterAddress: report.pool.masterAddress ?? "",
      };
      this.stats.registrations++;
      this.#intervalMs = durationMs(response.heartbeatInterval) ?? this.#intervalMs;
      log.info("registered with the controller", { reason: why, role: report.pool.role, xapiReachable: report.pool.xapiReachable, heartbeatMs: this.#intervalMs });
      return this.#intervalMs;
    }
    const response = await client.heartbeat({ name: ctx.hostName, capacity: report.capacity, pool: report.pool }, callOptions);
    this.stats.heartbeats++;
    this.#intervalMs = durationMs(response.heartbeatInterval) ?? this.#intervalMs;
    if (response.reregister) {
      log.info("controller asks to register again");
      this.#registered = undefined;
      return 0;
    }
    return this.#intervalMs;
  }

  /** Why a (re-)registration is due, or undefined for a plain heartbeat. */
  private registrationReason(report: HostReport, epoch: number): string | undefined {
    const last = this.#registered;
    if (!last) return "start";
    if (epoch !== last.epoch) return "toolstack restarted";
    if (!report.complete) return undefined;
    if (report.pool.role !== last.role) return "role changed";
    if ((report.pool.hostUuid ?? "") !== last.hostUuid) return "host uuid changed";
    if ((report.pool.poolUuid ?? "") !== last.poolUuid) return "pool changed";
    if ((report.pool.masterAddress ?? "") !== last.masterAddress) return "master changed";
    return undefined;
  }

  private sleep(ms: number): Promise<void> {
    if (this.#wakePending || this.#stop.signal.aborted || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = () => {
        this.#wake = undefined;
        done();
      };
    });
  }
}
