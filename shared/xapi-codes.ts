/** XenAPI error-code tables both daemons use (docs/xenapi-notes.md lists the codes and what they mean). */

/**
 * Evacuation blocker codes that are properties of the VM itself (its storage, devices, CPU needs,
 * or the operation being forbidden for it): such a VM cannot be moved whatever the pool looks like.
 * Other codes (HOST_NOT_ENOUGH_FREE_MEMORY, NO_HOSTS_AVAILABLE, …) depend on the other hosts' current state.
 */
export const vmIntrinsicBlockerCodes: ReadonlySet<string> = new Set([
  "VM_REQUIRES_SR",
  "VM_IS_IMMOBILE",
  "VM_HAS_PCI_ATTACHED",
  "VM_HAS_VUSBS",
  "VM_INCOMPATIBLE_WITH_THIS_HOST",
  "OPERATION_NOT_ALLOWED",
]);

/** Codes that mean "try again later" rather than "the request cannot work as the pool is". */
export const transientXapiCodes: ReadonlySet<string> = new Set(["OTHER_OPERATION_IN_PROGRESS", "DESIGNATE_NEW_MASTER_IN_PROGRESS", "HOST_STILL_BOOTING", "TOO_BUSY"]);

/** Codes a host in emergency mode (its master unreachable) answers every normal call with. */
export const emergencyModeCodes: ReadonlySet<string> = new Set([
  "HOST_STILL_BOOTING",
  "HOST_MASTER_CANNOT_TALK_BACK",
  "HOST_UNKNOWN_TO_MASTER",
  "HOST_HAS_NO_MANAGEMENT_IP",
  "HOST_ITS_OWN_SLAVE",
  "HOST_BROKEN",
]);
