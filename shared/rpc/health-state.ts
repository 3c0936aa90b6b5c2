/**
 * The serving health of one server process, overall ("") and per service, as the grpc.health.v1
 * protocol reports it (the service itself is health-service.ts). Every known service is NOT_SERVING
 * while the process starts or drains; with a probe (the controller's database), the overall status
 * and the services that depend on it are also NOT_SERVING while the probe fails. Check probes on
 * demand; while someone watches, the probe runs every intervalMs and watchers see each change.
 */
import type { Logger } from "../logging.js";

/** Where the process is in its life: starting (not yet wired), serving, or draining (shutting down). */
export type HealthPhase = "starting" | "serving" | "draining";

/** The health of a known service. */
export type ServingStatus = "serving" | "not-serving";

/** A cheap check of something the services need (e.g. the database). */
export interface HealthProbe {
  /** Resolves when the dependency can be used; a rejection (or an answer slower than timeoutMs) is a failure. */
  check(): Promise<void>;
  /** How often the probe runs while a Watch is open (default 5 s). */
  intervalMs?: number;
  /** A probe slower than this has failed (default 2 s). */
  timeoutMs?: number;
}

/** Options of HealthState. */
export interface HealthStateOptions {
  /** Known services that need only the process (reflection, health). */
  services: readonly string[];
  /** Known services that also need the probe; the overall status "" always does. */
  probedServices: readonly string[];
  probe?: HealthProbe;
  log: Logger;
}

/** The part of HealthState a server's owner drives. */
export interface HealthControl {
  readonly phase: HealthPhase;
  /** Starting → serving, once the process is wired (no effect once draining). */
  setServing(): void;
  /** → draining, at the start of a graceful shutdown (never undone). */
  setDraining(): void;
}

/** Health of the services of one process; see the file comment. */
export class HealthState implements HealthControl {
  private current: HealthPhase = "starting";
  /** Service name → whether it depends on the probe. */
  private readonly known = new Map<string, boolean>();
  private probeOk = true;
  private probing: Promise<void> | undefined;
  private readonly waiters = new Set<() => void>();
  private watchers = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: HealthStateOptions) {
    for (const name of options.services) this.known.set(name, false);
    for (const name of options.probedServices) this.known.set(name, options.probe !== undefined);
    this.known.set("", options.probe !== undefined);
  }

  get phase(): HealthPhase {
    return this.current;
  }

  setServing(): void {
    if (this.current !== "starting") return;
    this.current = "serving";
    this.changed();
    if (this.options.probe) void this.probeNow();
  }

  setDraining(): void {
    if (this.current === "draining") return;
    this.current = "draining";
    this.changed();
  }

  /** The status of a service from what is known now (the last probe); undefined for an unknown service. */
  statusOf(service: string): ServingStatus | undefined {
    const probed = this.known.get(service);
    if (probed === undefined) return undefined;
    if (this.current !== "serving") return "not-serving";
    return probed && !this.probeOk ? "not-serving" : "serving";
  }

  /** The status of a service, probing first when it depends on the probe; undefined for an unknown service. */
  async check(service: string): Promise<ServingStatus | undefined> {
    if (this.needsProbe(service)) await this.probeNow();
    return this.statusOf(service);
  }

  /**
   * The status of a service now (undefined: unknown), then each time it changes, until the signal
   * aborts; a change made just before the abort (draining) is still delivered.
   */
  async *watch(service: string, signal: AbortSignal): AsyncGenerator<ServingStatus | undefined> {
    this.watchers++;
    this.updatePolling();
    try {
      if (this.needsProbe(service)) await this.probeNow();
      let sent: ServingStatus | undefined | null = null;
      for (;;) {
        const status = this.statusOf(service);
        if (status !== sent) {
          sent = status;
          yield status;
          // Look again before waiting: the status may have changed while the consumer held the value.
          continue;
        }
        if (signal.aborted) return;
        await this.nextChange(signal);
      }
    } finally {
      this.watchers--;
      this.updatePolling();
    }
  }

  private needsProbe(service: string): boolean {
    return this.current === "serving" && this.known.get(service) === true;
  }

  /** Runs the probe (concurrent callers share one run) and records its result. */
  private probeNow(): Promise<void> {
    const probe = this.options.probe;
    if (!probe) return Promise.resolve();
    return (this.probing ??= this.runProbe(probe).finally(() => (this.probing = undefined)));
  }

  private async runProbe(probe: HealthProbe): Promise<void> {
    const timeoutMs = probe.timeoutMs ?? 2000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    let error: string | undefined;
    try {
      await Promise.race([probe.check(), timedOut]);
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    } finally {
      clearTimeout(timer);
    }
    const ok = error === undefined;
    if (ok === this.probeOk) return;
    this.probeOk = ok;
    if (ok) this.options.log.info("health probe passes again: serving");
    else this.options.log.warn("health probe failed: not serving", { error });
    this.changed();
  }

  /** Probes periodically exactly while someone watches a serving process. */
  private updatePolling(): void {
    const wanted = this.options.probe !== undefined && this.watchers > 0 && this.current === "serving";
    if (wanted && !this.timer) {
      this.timer = setInterval(() => void this.probeNow(), this.options.probe?.intervalMs ?? 5000);
      this.timer.unref();
    } else if (!wanted && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private changed(): void {
    this.updatePolling();
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
  }

  /** Resolves at the next change, or when the signal aborts. */
  private nextChange(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        signal.removeEventListener("abort", done);
        this.waiters.delete(done);
        resolve();
      };
      if (signal.aborted) return resolve();
      this.waiters.add(done);
      signal.addEventListener("abort", done, { once: true });
    });
  }
}
