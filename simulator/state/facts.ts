/**
 * Per-host facts (CPU, versions, memory, HA, shared SR) that the join checks and migrations
 * compare: their defaults, and validation of control API patches.
 */

/** Physical and software facts of a simulated host; the pool.join pre-checks compare them. */
export interface HostFacts {
  /** `cpu_info.vendor`, compared by join (HOSTS_NOT_HOMOGENEOUS ["CPUs differ"]) and migration. */
  cpuVendor: string;
  /** `software_version.platform_version` (HOSTS_NOT_COMPATIBLE when it differs). */
  platformVersion: string;
  /** `software_version.product_brand` (HOSTS_NOT_COMPATIBLE when it differs). */
  productBrand: string;
  /** `software_version.product_version`. */
  productVersion: string;
  /** `software_version.xapi` (HOSTS_NOT_HOMOGENEOUS ["Software version differs"]). */
  softwareVersion: string;
  apiVersionMajor: number;
  apiVersionMinor: number;
  /** `software_version.db_schema` (POOL_JOINING_HOST_MUST_HAVE_SAME_DB_SCHEMA). */
  dbSchema: string;
  /** HA enabled on this host's pool (HA_IS_ENABLED). */
  haEnabled: boolean;
  /** The host has a shared SR attached (JOINING_HOST_CANNOT_CONTAIN_SHARED_SRS). */
  hasSharedSr: boolean;
  /** Physical memory (host_metrics.memory_total) in MiB. */
  memoryMiB: number;
  /** Control domain memory in MiB. */
  dom0MemoryMiB: number;
  cpuCount: number;
}

/** Facts of a freshly installed XenServer 8 host. */
export const DEFAULT_FACTS: Readonly<HostFacts> = Object.freeze({
  cpuVendor: "GenuineIntel",
  platformVersion: "3.4.0",
  productBrand: "XenServer",
  productVersion: "8.4.0",
  softwareVersion: "25.6.0",
  apiVersionMajor: 2,
  apiVersionMinor: 21,
  dbSchema: "5.786",
  haEnabled: false,
  hasSharedSr: false,
  memoryMiB: 262_144,
  dom0MemoryMiB: 4_096,
  cpuCount: 32,
});

const STRING_FACTS = ["cpuVendor", "platformVersion", "productBrand", "productVersion", "softwareVersion", "dbSchema"] as const;
const INT_FACTS = ["apiVersionMajor", "apiVersionMinor", "memoryMiB", "dom0MemoryMiB", "cpuCount"] as const;
const BOOL_FACTS = ["haEnabled", "hasSharedSr"] as const;

/** Every fact name, for validation of control requests. */
export const FACT_NAMES: readonly string[] = [...STRING_FACTS, ...INT_FACTS, ...BOOL_FACTS];

/**
 * Validates a partial facts object from untrusted input. Returns an error
 * message for the first bad field, or the cleaned patch.
 */
export function validateFactsPatch(input: Record<string, unknown>): Partial<HostFacts> | string {
  const patch: Partial<HostFacts> = {};
  for (const key of STRING_FACTS) {
    const v = input[key];
    if (v === undefined) continue;
    if (typeof v !== "string" || v.length === 0 || v.length > 255) return `${key} must be a non-empty string`;
    patch[key] = v;
  }
  for (const key of INT_FACTS) {
    const v = input[key];
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 2 ** 31) return `${key} must be a non-negative integer`;
    patch[key] = v;
  }
  for (const key of BOOL_FACTS) {
    const v = input[key];
    if (v === undefined) continue;
    if (typeof v !== "boolean") return `${key} must be a boolean`;
    patch[key] = v;
  }
  const memory = patch.memoryMiB;
  const dom0 = patch.dom0MemoryMiB;
  if (memory !== undefined && memory < 1024) return "memoryMiB must be at least 1024";
  if (memory !== undefined && dom0 !== undefined && dom0 >= memory) return "dom0MemoryMiB must be below memoryMiB";
  return patch;
}

/** `"<major>.<minor>"`, the form used in POOL_JOINING_HOST_MUST_HAVE_SAME_API_VERSION. */
export function apiVersionString(facts: HostFacts): string {
  return `${facts.apiVersionMajor}.${facts.apiVersionMinor}`;
}
