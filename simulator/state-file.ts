/**
 * The state file: a JSON snapshot of hosts and pool databases, saved atomically after changes and
 * restored at start (sessions are not kept, as in xapi).
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { settleMigration } from "./migration/migrate-vm.js";
import type { HostFacts } from "./state/facts.js";
import type { Fault, Machine, PoolConf } from "./state/machine.js";
import { PoolDb, type PoolDbJson } from "./state/pool-db.js";
import type { World } from "./world.js";

/** One host in the state file. */
export interface MachineJson {
  name: string;
  address: string;
  uuid: string;
  facts: HostFacts;
  poweredOn: boolean;
  poolConf: PoolConf;
  wipeOnBoot: boolean;
  /** Absent in files written before host.reboot existed. */
  bootCount?: number;
  bootedAt?: number;
  dbId: string | null;
  faults: Fault[];
}

/** The state file: hosts (with their pool.conf) and pool databases. Sessions are not kept (as in xapi). */
export interface StateFileJson {
  version: 1;
  savedAt: string;
  port: number;
  machines: MachineJson[];
  dbs: PoolDbJson[];
}

/** A snapshot of the world for the state file. */
export function snapshotWorld(world: World, port: number): StateFileJson {
  return {
    version: 1,
    savedAt: new Date().toISOString(),
    port,
    machines: [...world.machines.values()].map((m: Machine) => ({
      name: m.name,
      address: m.address,
      uuid: m.uuid,
      facts: { ...m.facts },
      poweredOn: m.poweredOn,
      poolConf: { ...m.poolConf },
      wipeOnBoot: m.wipeOnBoot,
      bootCount: m.bootCount,
      bootedAt: m.bootedAt,
      dbId: m.dbId,
      faults: m.faults.map((f) => ({ ...f })),
    })),
    dbs: [...world.dbs.values()].map((db) => db.toJson()),
  };
}

function assertShape(data: unknown): asserts data is StateFileJson {
  const d = data as Partial<StateFileJson> | null;
  if (!d || d.version !== 1 || !Array.isArray(d.machines) || !Array.isArray(d.dbs)) {
    throw new Error("not a fake-xapi state file (version 1)");
  }
  for (const m of d.machines) {
    if (typeof m.name !== "string" || typeof m.address !== "string" || typeof m.uuid !== "string" || !m.facts || !m.poolConf) {
      throw new Error("state file: malformed host entry");
    }
  }
}

/** Reads a state file; null when it does not exist. Throws on a corrupt file. */
export async function readStateFile(path: string): Promise<StateFileJson | null> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  const data: unknown = JSON.parse(text);
  assertShape(data);
  return data;
}

/**
 * Rebuilds databases from a state file and settles what was in flight:
 * running migrations complete (the VM lands on its target, task success),
 * other pending tasks fail with INTERNAL_ERROR, designate flags are cleared.
 * Pending toolstack restarts need nothing: pool.conf is already final and
 * every powered-on host boots from it.
 */
export function restoreDbs(world: World, data: StateFileJson): void {
  for (const json of data.dbs) {
    const db = PoolDb.fromJson(json);
    for (const vm of db.vms.values()) settleMigration(db, vm);
    for (const task of db.tasks.values()) {
      if (task.status === "pending" || task.status === "cancelling") {
        task.status = "failure";
        task.errorInfo = ["INTERNAL_ERROR", "interrupted by a simulator restart"];
        task.progress = 1;
        task.finished = Date.now();
      }
    }
    world.dbs.set(db.id, db);
  }
}

/** Saves the state file on changes: debounced, one write at a time, atomically (write + rename). */
export class StateSaver {
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();
  private dirty = false;

  constructor(
    private readonly path: string,
    private readonly snapshot: () => StateFileJson,
    private readonly debounceMs = 50,
  ) {}

  /** Requests a save soon. */
  schedule(): void {
    this.dirty = true;
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.save();
    }, this.debounceMs);
  }

  /** Writes now if anything changed; resolves when the file is on disk. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    await this.save();
  }

  private save(): Promise<void> {
    const next = this.writing.then(async () => {
      if (!this.dirty) return;
      this.dirty = false;
      const text = JSON.stringify(this.snapshot(), null, 1);
      const tmp = `${this.path}.tmp-${process.pid}`;
      try {
        await mkdir(dirname(this.path), { recursive: true });
        await writeFile(tmp, text, "utf8");
        await rename(tmp, this.path);
      } catch (error) {
        process.stderr.write(`fake-xapi: cannot save state to ${this.path}: ${String(error)}\n`);
      }
    });
    this.writing = next;
    return next;
  }
}
