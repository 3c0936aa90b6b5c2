/**
 * The simulator: builds the world, binds every host's XML-RPC endpoint on one shared port, hands
 * calls to the dispatcher, and runs the control API and the state file. startSimulator() is the entry point.
 */
import { createServer } from "node:net";
import type { ScaledClock } from "./clock.js";
import { buildRegistry } from "./calls/index.js";
import { dispatch } from "./calls/dispatcher.js";
import type { Registry } from "./calls/registry.js";
import { ControlError, createControl, type SimulatorControl, type SimulatorCore } from "./control/control.js";
import { ControlServer } from "./control/control-http.js";
import { HostEndpoint, type EndpointReply } from "./http-endpoint.js";
import { startAll, startToolstack } from "./lifecycle/toolstack.js";
import { migrationLowerBoundMs, type MigrationLoad } from "./migration/bandwidth-model.js";
import { addressAt, resolveOptions, type Durations, type SimulatorOptions } from "./options.js";
import { DEFAULT_FACTS, type HostFacts } from "./state/facts.js";
import { Machine } from "./state/machine.js";
import { newUuid } from "./ids.js";
import { readStateFile, restoreDbs, snapshotWorld, StateSaver } from "./state-file.js";
import { failureResponse, parseMethodCall, serializeResponse } from "./xmlrpc-codec.js";
import { World } from "./world.js";

/** A host's public identity. */
export interface SimulatorHost {
  name: string;
  address: string;
  /** `http://<address>:<port>/` */
  url: string;
  uuid: string;
}

/** A running simulator. */
export interface Simulator {
  /** Every host (including ones added later), in creation order. */
  readonly hosts: SimulatorHost[];
  /** The XML-RPC port, the same on every host address. */
  readonly port: number;
  /** `http://127.0.0.1:PORT` of the control API. */
  readonly controlUrl: string;
  /** The control operations in-process. */
  readonly control: SimulatorControl;
  /** The scaled clock every duration goes through. */
  readonly clock: ScaledClock;
  /** Nominal durations and bandwidth in use. */
  readonly durations: Readonly<Durations>;
  /** Nominal lower bound for migrating these VMs (see bandwidth-model.ts). */
  migrationLowerBoundMs(vms: readonly MigrationLoad[]): number;
  /** Stops every listener and timer, saves the state file. Idempotent. */
  close(): Promise<void>;
}

const VM_SIZES_MIB = [1024, 2048, 4096, 512];
const MAX_PORT_ATTEMPTS = 20;

function malformed(): EndpointReply {
  return {
    status: 500,
    contentType: "text/html",
    body: "<html><body><h1>HTTP 500 internal server error</h1>An unexpected error occurred; please wait a while and try again. If the problem persists, please contact your support representative.</body></html>",
  };
}

async function freePort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen({ host: address, port: 0 }, () => {
      const bound = probe.address();
      const port = bound && typeof bound === "object" ? bound.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

class SimulatorImpl implements Simulator, SimulatorCore {
  readonly world: World;
  readonly registry: Registry;
  readonly control: SimulatorControl;
  port = 0;
  controlUrl = "";
  private controlServer: ControlServer | null = null;
  private saver: StateSaver | null = null;
  private closing: Promise<void> | null = null;
  private unsubscribe: () => void = () => undefined;

  constructor(world: World) {
    this.world = world;
    this.registry = buildRegistry();
    this.control = createControl(this);
  }

  get hosts(): SimulatorHost[] {
    return [...this.world.machines.values()].map((m) => ({
      name: m.name,
      address: m.address,
      url: `http://${m.address}:${this.port}/`,
      uuid: m.uuid,
    }));
  }

  get clock(): ScaledClock {
    return this.world.clock;
  }

  get durations(): Readonly<Durations> {
    return this.world.durations;
  }

  migrationLowerBoundMs(vms: readonly MigrationLoad[]): number {
    return migrationLowerBoundMs(vms, this.world.durations);
  }

  nextAddress(): string {
    for (let i = 0; ; i += 1) {
      const address = addressAt(this.world.options.baseAddress, i);
      if (!this.world.machineByAddress(address)) return address;
    }
  }

  /** Creates a machine with its endpoint (not yet listening). */
  addMachine(name: string, address: string, uuid: string, facts: HostFacts): Machine {
    const machine = new Machine(name, address, uuid, facts);
    machine.endpoint = new HostEndpoint(address, this.port, (body) => this.handle(machine, body));
    this.world.machines.set(name, machine);
    return machine;
  }

  async createHost(name: string, address: string, facts: HostFacts): Promise<Machine> {
    const machine = this.addMachine(name, address, newUuid(), facts);
    try {
      await machine.endpoint.open();
    } catch (error) {
      this.world.machines.delete(name);
      await machine.endpoint.close();
      throw new ControlError(409, `cannot listen on ${address}:${this.port}: ${String(error)}`);
    }
    startToolstack(this.world, machine);
    return machine;
  }

  private async handle(machine: Machine, body: Buffer): Promise<EndpointReply | null> {
    if (!machine.reachable) return null;
    let call;
    try {
      call = parseMethodCall(body);
    } catch {
      return malformed();
    }
    const result = await dispatch(this.world, this.registry, machine, call.method, call.params);
    if (result.kind === "drop") return null;
    let xml: string;
    try {
      xml = serializeResponse(result.value);
    } catch (error) {
      xml = serializeResponse(failureResponse(["INTERNAL_ERROR", String(error)]));
    }
    return { status: 200, contentType: "text/xml", body: xml };
  }

  /** Binds every powered-on host on one port; with port 0, finds one free on all addresses. */
  async bindAll(requested: number): Promise<void> {
    const machines = [...this.world.machines.values()].filter((m) => m.poweredOn);
    for (let attempt = 0; attempt < MAX_PORT_ATTEMPTS; attempt += 1) {
      let port = requested;
      if (port === 0) port = await freePort(machines[0]?.address ?? this.world.options.baseAddress);
      this.port = port;
      for (const m of this.world.machines.values()) m.endpoint.port = port;
      try {
        for (const m of machines) await m.endpoint.open();
        return;
      } catch (error) {
        for (const m of machines) await m.endpoint.close();
        const code = (error as NodeJS.ErrnoException).code;
        if (requested !== 0 || code !== "EADDRINUSE") throw error;
      }
    }
    throw new Error("no port free on every host address");
  }

  async start(requestedPort: number): Promise<void> {
    const opts = this.world.options;
    const saved = opts.stateFile ? await readStateFile(opts.stateFile) : null;
    if (saved) {
      restoreDbs(this.world, saved);
      for (const mj of saved.machines) {
        const m = this.addMachine(mj.name, mj.address, mj.uuid, { ...DEFAULT_FACTS, ...mj.facts });
        m.poweredOn = mj.poweredOn;
        m.poolConf = mj.poolConf;
        m.wipeOnBoot = mj.wipeOnBoot;
        m.bootCount = mj.bootCount ?? m.bootCount;
        m.bootedAt = mj.bootedAt ?? m.bootedAt;
        m.dbId = mj.dbId;
        m.faults = Array.isArray(mj.faults) ? mj.faults : [];
      }
    } else {
      for (let i = 1; i <= opts.hosts; i += 1) {
        this.addMachine(`xs${i}`, addressAt(opts.baseAddress, i - 1), newUuid(), {
          ...DEFAULT_FACTS,
          memoryMiB: opts.hostMemoryMiB,
        });
      }
    }
    let port = requestedPort;
    if (port === 0 && saved && saved.port > 0) port = saved.port;
    try {
      await this.bindAll(port);
    } catch (error) {
      if (port === requestedPort) throw error;
      await this.bindAll(requestedPort);
    }
    startAll(this.world);
    if (!saved) {
      for (const m of this.world.machines.values()) {
        for (let i = 0; i < opts.vmsPerHost; i += 1) {
          this.control.addVms(m.name, { memoryMiB: VM_SIZES_MIB[i % VM_SIZES_MIB.length] ?? 1024 });
        }
      }
    }
    this.controlServer = new ControlServer(this.control, this.world);
    this.controlUrl = await this.controlServer.listen(opts.controlPort);
    if (opts.stateFile) {
      const saver = new StateSaver(opts.stateFile, () => snapshotWorld(this.world, this.port));
      this.saver = saver;
      this.unsubscribe = this.world.onChange(() => saver.schedule());
      saver.schedule();
      await saver.flush();
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.unsubscribe();
      await this.saver?.flush();
      this.world.dispose();
      await Promise.all([...this.world.machines.values()].map((m) => m.endpoint.close()));
      await this.controlServer?.close();
    })();
    return this.closing;
  }
}

/**
 * Starts a simulated XenServer world: `hosts` standalone hosts named
 * xs1..xsN, each serving XML-RPC on its own loopback address, plus the
 * control API. See docs/simulator.md.
 */
export async function startSimulator(opts: SimulatorOptions): Promise<Simulator> {
  const resolved = resolveOptions(opts);
  const sim = new SimulatorImpl(new World(resolved));
  try {
    await sim.start(resolved.port);
  } catch (error) {
    await sim.close();
    throw error;
  }
  return sim;
}
