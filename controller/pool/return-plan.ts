/**
 * One pass of sending VMs back to the hosts they ran on (pure), swap-aware: a VM whose home has
 * room goes home; when none can, foreign VMs are moved off a home host to make room for the next
 * pass (to their own home when it has room, else to any other host that does).
 */

/** A running VM away from home (or at home, as a possible foreign VM of nobody). */
export interface ReturnVm {
  uuid: string;
  name: string;
  memoryBytes: number;
  /** Where it runs now. */
  host: string;
  /** Where it ran when the run started; undefined for VMs the run does not send anywhere. */
  home?: string;
}

/** A host that can take VMs, with its free memory. */
export interface ReturnHost {
  name: string;
  uuid: string;
  freeBytes: number;
}

/** A planned move of the pass. */
export interface ReturnMove {
  vm: ReturnVm;
  to: ReturnHost;
  /** "home": the VM goes back; "make-room": a foreign VM leaves a home host for another VM. */
  why: "home" | "make-room";
}

/** Plans one pass; `skip` holds VMs given up on. Empty when nothing can move. */
export function planReturnPass(vms: readonly ReturnVm[], hosts: readonly ReturnHost[], skip: ReadonlySet<string> = new Set()): ReturnMove[] {
  const free = new Map(hosts.map((h) => [h.name, h.freeBytes]));
  const byName = new Map(hosts.map((h) => [h.name, h]));
  const away = vms.filter((v) => v.home !== undefined && v.home !== v.host && !skip.has(v.uuid)).sort((a, b) => b.memoryBytes - a.memoryBytes || a.name.localeCompare(b.name));
  const moves: ReturnMove[] = [];
  for (const vm of away) {
    const home = byName.get(vm.home!);
    if (!home || free.get(home.name)! < vm.memoryBytes) continue;
    free.set(home.name, free.get(home.name)! - vm.memoryBytes);
    moves.push({ vm, to: home, why: "home" });
  }
  if (moves.length > 0) return moves;
  // Nothing fits at home: move foreign VMs off the home of the largest blocked VM, enough to make room.
  for (const blocked of away) {
    const home = byName.get(blocked.home!);
    if (!home) continue;
    const foreign = vms.filter((v) => v.host === home.name && v.home !== home.name && !skip.has(v.uuid)).sort((a, b) => b.memoryBytes - a.memoryBytes);
    let room = free.get(home.name)!;
    const planned: ReturnMove[] = [];
    for (const f of foreign) {
      if (room >= blocked.memoryBytes) break;
      const own = f.home ? byName.get(f.home) : undefined;
      const target = own && own.name !== home.name && free.get(own.name)! >= f.memoryBytes ? own : hosts.find((h) => h.name !== home.name && h.name !== blocked.host && free.get(h.name)! >= f.memoryBytes);
      if (!target) continue;
      free.set(target.name, free.get(target.name)! - f.memoryBytes);
      room += f.memoryBytes;
      planned.push({ vm: f, to: target, why: f.home === target.name ? "home" : "make-room" });
    }
    if (room >= blocked.memoryBytes && planned.length > 0) return planned;
    // Not enough: undo this attempt's reservations and try the next blocked VM.
    for (const p of planned) free.set(p.to.name, free.get(p.to.name)! + p.vm.memoryBytes);
  }
  return [];
}
