/**
 * The in-process control API: add hosts and VMs, change host facts, power hosts off and on, restart
 * toolstacks, script faults, read and wait on the state, compute migration lower bounds.
 */
import { validateFault, type FaultSpec } from "../faults.js";
import { powerOff, powerOn, restartToolstack } from "../lifecycle/toolstack.js";
import { migrationLowerBoundMs } from "../migration/bandwidth-model.js";
import { DEFAULT_FACTS, validateFactsPatch, type HostFacts } from "../state/facts.js";
import type { Machine } from "../state/machine.js";
import { hostFreeBytes, vmFootprint } from "../state/memory.js";
import type { PowerState, VmRow } from "../state/rows.js";
import { newVmRow } from "../state/standalone.js";
import type { World } from "../world.js";
import { buildState, type HostState, type SimulatorState, type VmState } from "./state-view.js";

const MiB = 1024 * 1024;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const POWER_STATES: readonly PowerState[] = ["Running", "Halted", "Suspended", "Paused"];

/** A rejected control request: HTTP status + message. */
export class ControlError extends Error {
  constructor(
    readonly status: 400 | 404 | 409,
    message: string,
  ) {
    super(message);
    this.name = "ControlError";
  }
}

/** A new standalone host: name plus any facts (defaults: a fresh XenServer 8 host). */
export interface HostSpec extends Partial<HostFacts> {
  name: string;
  /** Loopback address; default the next free one after the base address. */
  address?: string;
}

/** VMs to create on a host (in the pool database that host uses). */
export interface VmSpec {
  /** Default 1. */
  count?: number;
  /** Default 1024. */
  memoryMiB?: number;
  /** Default "Running". */
  powerState?: PowerState;
  /** Disks on the host's local SR: pool_migrate then fails with VM_REQUIRES_SR. Default false. */
  localStorage?: boolean;
  /** A (user) template. Default false. */
  template?: boolean;
  /** Names are `<prefix>-vmNN`; default the host name. */
  namePrefix?: string;
}

/** What the control layer needs from the simulator. */
export interface SimulatorCore {
  readonly world: World;
  readonly port: number;
  /** Next free loopback address for a new host. */
  nextAddress(): string;
  /** Creates, binds and boots a new standalone host. */
  createHost(name: string, address: string, facts: HostFacts): Promise<Machine>;
}

/** The control operations, in-process (the HTTP control API calls exactly these). */
export interface SimulatorControl {
  /** Every host and VM. */
  state(): SimulatorState;
  /** One host. */
  host(name: string): HostState;
  /** Adds a new standalone host (it answers before the promise resolves). */
  addHost(spec: HostSpec): Promise<HostState>;
  /** Changes facts of an existing host (join pre-checks read them live). */
  setHostFacts(host: string, patch: Partial<HostFacts>): HostState;
  /** Creates VMs on a host. */
  addVms(host: string, spec: VmSpec): VmState[];
  /** `false` crashes the host (connections refused at once); `true` boots it (up after bootMs). */
  power(host: string, on: boolean): Promise<HostState>;
  /** Restarts the host's toolstack now: sessions dropped, endpoint down for restartMs. */
  restartToolstack(host: string): Promise<HostState>;
  /** Makes the host's next `count` calls of a method fail, hang or slow down. */
  setFault(host: string, fault: FaultSpec): HostState;
  /** Removes every scripted fault of a host. */
  clearFaults(host: string): HostState;
  /** Lower bound of the time to migrate these VMs off their current hosts (see bandwidth-model.ts). */
  migrationLowerBound(vmUuids: readonly string[]): { nominalMs: number; realMs: number };
  /** Calls `listener` with the new state after every change (synchronously); returns an unsubscribe function. */
  onChange(listener: (state: SimulatorState) => void): () => void;
  /** Resolves with the predicate's first truthy result; polls on every change and every 10 ms. */
  waitFor<T>(predicate: (state: SimulatorState) => T | false | null | undefined, timeoutMs?: number): Promise<T>;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Creates the in-process control API over a simulator core. */
export function createControl(core: SimulatorCore): SimulatorControl {
  const { world } = core;

  const machineNamed = (name: unknown): Machine => {
    const m = typeof name === "string" ? world.machines.get(name) : undefined;
    if (!m) throw new ControlError(404, `unknown host ${String(name)}`);
    return m;
  };
  const view = (name: string): HostState => {
    const h = buildState(world, core.port).hosts.find((x) => x.name === name);
    if (!h) throw new ControlError(404, `unknown host ${name}`);
    return h;
  };

  const control: SimulatorControl = {
    state: () => buildState(world, core.port),
    host: (name) => view(machineNamed(name).name),

    async addHost(spec) {
      if (!isRecord(spec)) throw new ControlError(400, "body must be a JSON object");
      const { name, address, ...rest } = spec as HostSpec & Record<string, unknown>;
      if (typeof name !== "string" || !NAME_RE.test(name)) {
        throw new ControlError(400, "name must match [A-Za-z0-9][A-Za-z0-9._-]{0,62}");
      }
      if (world.machines.has(name)) throw new ControlError(409, `host ${name} already exists`);
      const unknown = Object.keys(rest).filter((k) => !(k in DEFAULT_FACTS));
      if (unknown.length > 0) throw new ControlError(400, `unknown field(s): ${unknown.join(", ")}`);
      const patch = validateFactsPatch(rest);
      if (typeof patch === "string") throw new ControlError(400, patch);
      const facts: HostFacts = { ...DEFAULT_FACTS, ...patch };
      if (facts.dom0MemoryMiB >= facts.memoryMiB) throw new ControlError(400, "dom0MemoryMiB must be below memoryMiB");
      let addr: string;
      if (address === undefined) addr = core.nextAddress();
      else if (typeof address === "string" && /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address)) addr = address;
      else throw new ControlError(400, "address must be a loopback IPv4 address");
      if (world.machineByAddress(addr)) throw new ControlError(409, `address ${addr} is already used`);
      await core.createHost(name, addr, facts);
      return view(name);
    },

    setHostFacts(host, patch) {
      const m = machineNamed(host);
      if (!isRecord(patch)) throw new ControlError(400, "body must be a JSON object");
      const unknown = Object.keys(patch).filter((k) => !(k in DEFAULT_FACTS));
      if (unknown.length > 0) throw new ControlError(400, `unknown field(s): ${unknown.join(", ")}`);
      const valid = validateFactsPatch(patch);
      if (typeof valid === "string") throw new ControlError(400, valid);
      const next = { ...m.facts, ...valid };
      if (next.dom0MemoryMiB >= next.memoryMiB) throw new ControlError(400, "dom0MemoryMiB must be below memoryMiB");
      m.facts = next;
      world.changed();
      return view(m.name);
    },

    addVms(host, spec: VmSpec) {
      const m = machineNamed(host);
      if (!isRecord(spec)) throw new ControlError(400, "body must be a JSON object");
      const raw: Record<string, unknown> = spec;
      const count = raw["count"] ?? 1;
      const memoryMiB = raw["memoryMiB"] ?? 1024;
      const powerState = raw["powerState"] ?? "Running";
      const localStorage = raw["localStorage"] ?? false;
      const template = raw["template"] ?? false;
      const prefix = raw["namePrefix"] ?? m.name;
      const unknown = Object.keys(raw).filter(
        (k) => !["count", "memoryMiB", "powerState", "localStorage", "template", "namePrefix"].includes(k),
      );
      if (unknown.length > 0) throw new ControlError(400, `unknown field(s): ${unknown.join(", ")}`);
      if (typeof count !== "number" || !Number.isInteger(count) || count < 1 || count > 1000) {
        throw new ControlError(400, "count must be an integer in 1..1000");
      }
      if (typeof memoryMiB !== "number" || !Number.isInteger(memoryMiB) || memoryMiB < 16 || memoryMiB > 4 * 1024 * 1024) {
        throw new ControlError(400, "memoryMiB must be an integer in 16..4194304");
      }
      if (typeof powerState !== "string" || !(POWER_STATES as readonly string[]).includes(powerState)) {
        throw new ControlError(400, `powerState must be one of ${POWER_STATES.join(", ")}`);
      }
      const state = powerState as PowerState;
      if (typeof localStorage !== "boolean") throw new ControlError(400, "localStorage must be a boolean");
      if (typeof template !== "boolean") throw new ControlError(400, "template must be a boolean");
      if (typeof prefix !== "string" || !NAME_RE.test(prefix)) throw new ControlError(400, "namePrefix is not a valid name");
      const db = world.dbOf(m);
      const row = db?.hostByUuid(m.uuid);
      if (!db || !row) throw new ControlError(409, `host ${m.name} has no pool database yet`);
      const resident = state === "Running" || state === "Paused";
      if (resident && !m.poweredOn) throw new ControlError(409, `host ${m.name} is powered off`);
      const localSr = db.localSrOf(m.uuid);
      if (localStorage && !localSr) throw new ControlError(409, `host ${m.name} has no local SR`);
      const created: VmRow[] = [];
      const names = new Set([...db.vms.values()].map((v) => v.nameLabel));
      let n = 1;
      for (let i = 0; i < count; i += 1) {
        while (names.has(`${prefix}-vm${String(n).padStart(2, "0")}`)) n += 1;
        const name = `${prefix}-vm${String(n).padStart(2, "0")}`;
        names.add(name);
        created.push(
          newVmRow({
            nameLabel: name,
            memoryBytes: memoryMiB * MiB,
            powerState: state,
            residentOn: row.ref,
            isTemplate: template,
            localSrRef: localStorage ? (localSr?.ref ?? null) : null,
            vcpus: Math.max(1, Math.min(16, Math.round(memoryMiB / 1024))),
          }),
        );
      }
      if (resident) {
        const needed = created.reduce((sum, vm) => sum + vmFootprint(vm), 0);
        const free = hostFreeBytes(db, row.ref, m.facts);
        if (needed > free) {
          throw new ControlError(409, `not enough free memory on ${m.name}: need ${needed} bytes, ${free} free`);
        }
      }
      let domid = Math.max(0, ...[...db.vms.values()].map((v) => v.domid));
      for (const vm of created) {
        if (resident) vm.domid = ++domid;
        db.vms.set(vm.ref, vm);
      }
      world.changed();
      const uuids = new Set(created.map((vm) => vm.uuid));
      return buildState(world, core.port).vms.filter((v) => uuids.has(v.uuid));
    },

    async power(host, on) {
      const m = machineNamed(host);
      if (typeof on !== "boolean") throw new ControlError(400, "on must be a boolean");
      if (on) powerOn(world, m);
      else await powerOff(world, m);
      return view(m.name);
    },

    async restartToolstack(host) {
      const m = machineNamed(host);
      if (!m.poweredOn) throw new ControlError(409, `host ${m.name} is powered off`);
      await restartToolstack(world, m, world.durations.restartMs);
      return view(m.name);
    },

    setFault(host, fault) {
      const m = machineNamed(host);
      const valid = validateFault(fault);
      if (typeof valid === "string") throw new ControlError(400, valid);
      m.faults.push(valid);
      world.changed();
      return view(m.name);
    },

    clearFaults(host) {
      const m = machineNamed(host);
      m.faults = [];
      world.changed();
      return view(m.name);
    },

    migrationLowerBound(vmUuids) {
      if (!Array.isArray(vmUuids) || !vmUuids.every((u) => typeof u === "string")) {
        throw new ControlError(400, "vms must be an array of VM uuids");
      }
      const state = buildState(world, core.port);
      const loads = vmUuids.map((uuid) => {
        const vm = state.vms.find((v) => v.uuid === uuid);
        if (!vm) throw new ControlError(404, `unknown VM ${uuid}`);
        return { memoryBytes: vm.memoryBytes, source: vm.residentOn ?? "" };
      });
      const nominalMs = migrationLowerBoundMs(loads, world.durations);
      return { nominalMs, realMs: world.clock.toReal(nominalMs) };
    },

    onChange(listener) {
      return world.onChange(() => listener(buildState(world, core.port)));
    },

    waitFor<T>(predicate: (state: SimulatorState) => T | false | null | undefined, timeoutMs = 10_000): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        let finished = false;
        let last: SimulatorState | undefined;
        const finish = (): void => {
          finished = true;
          unsubscribe();
          clearInterval(interval);
          clearTimeout(timer);
        };
        const check = (): void => {
          if (finished) return;
          try {
            last = buildState(world, core.port);
            const value = predicate(last);
            if (value !== false && value !== null && value !== undefined) {
              finish();
              resolve(value);
            }
          } catch (error) {
            finish();
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        };
        const unsubscribe = world.onChange(check);
        const interval = setInterval(check, 10);
        const timer = setTimeout(() => {
          if (finished) return;
          finish();
          const hosts = last?.hosts.map((h) => `${h.name}:${h.role}/${h.toolstack}${h.emergency ? "/emergency" : ""}`);
          reject(new Error(`waitFor timed out after ${timeoutMs} ms (hosts: ${hosts?.join(" ") ?? "?"})`));
        }, timeoutMs);
        check();
      });
    },
  };
  return control;
}
