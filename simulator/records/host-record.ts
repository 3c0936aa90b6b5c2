/**
 * host and host_metrics records as xapi returns them (including software_version), and their
 * field lists for the generated getters.
 */
import type { XapiValue } from "../xmlrpc-codec.js";
import { NULL_REF } from "../ids.js";
import { DEFAULT_FACTS } from "../state/facts.js";
import { hostFreeBytes, hostTotalBytes } from "../state/memory.js";
import type { PoolDb } from "../state/pool-db.js";
import type { HostRow } from "../state/rows.js";
import type { World } from "../world.js";

/** host.software_version map (the keys the join checks use). */
export function softwareVersionMap(world: World, row: HostRow): Record<string, string> {
  const facts = world.machineByUuid(row.uuid)?.facts ?? DEFAULT_FACTS;
  return {
    product_version: facts.productVersion,
    product_version_text: facts.productVersion,
    product_version_text_short: facts.productVersion,
    product_brand: facts.productBrand,
    platform_name: "XCP",
    platform_version: facts.platformVersion,
    xapi: facts.softwareVersion,
    xapi_build: facts.softwareVersion,
    xen: "4.17.5",
    linux: "4.19.0+1",
    xencenter_min: "2.21",
    xencenter_max: "2.21",
    network_backend: "openvswitch",
    db_schema: facts.dbSchema,
    git_id: "0",
    hostname: "localhost",
    date: "2025-01-01",
  };
}

/** A host record as host.get_record returns it. */
export function hostRecord(world: World, db: PoolDb, row: HostRow): Record<string, XapiValue> {
  const machine = world.machineByUuid(row.uuid);
  const facts = machine?.facts ?? DEFAULT_FACTS;
  const residentVms: string[] = [];
  for (const vm of db.vms.values()) if (vm.residentOn === row.ref) residentVms.push(vm.ref);
  const localSr = db.localSrOf(row.uuid);
  const dom0 = db.controlDomainOf(row.ref);
  return {
    uuid: row.uuid,
    name_label: row.nameLabel,
    name_description: row.nameDescription,
    memory_overhead: 0,
    allowed_operations: row.live ? ["provision", "evacuate", "reboot", "shutdown", "vm_start", "vm_resume", "vm_migrate"] : [],
    current_operations: {},
    API_version_major: facts.apiVersionMajor,
    API_version_minor: facts.apiVersionMinor,
    API_version_vendor: "XenSource",
    API_version_vendor_implementation: {},
    enabled: row.enabled,
    software_version: softwareVersionMap(world, row),
    other_config: { ...row.otherConfig },
    capabilities: ["xen-3.0-x86_64", "hvm-3.0-x86_32", "hvm-3.0-x86_64"],
    cpu_configuration: {},
    sched_policy: "credit",
    supported_bootloaders: ["pygrub", "eliloader"],
    resident_VMs: residentVms,
    logging: {},
    PIFs: [],
    suspend_image_sr: localSr?.ref ?? NULL_REF,
    crash_dump_sr: localSr?.ref ?? NULL_REF,
    crashdumps: [],
    patches: [],
    updates: [],
    PBDs: [],
    host_CPUs: [],
    cpu_info: {
      cpu_count: String(facts.cpuCount),
      socket_count: "2",
      vendor: facts.cpuVendor,
      speed: "2600.000",
      modelname: facts.cpuVendor === "AuthenticAMD" ? "AMD EPYC 7302" : "Intel(R) Xeon(R) Gold 6240",
      family: "6",
      model: "85",
      stepping: "7",
      flags: "fpu de tsc msr pae",
      features: "",
    },
    hostname: row.nameLabel,
    address: machine?.address ?? "",
    metrics: row.metricsRef,
    license_params: {},
    ha_statefiles: [],
    ha_network_peers: [],
    blobs: {},
    tags: [],
    external_auth_type: "",
    external_auth_service_name: "",
    external_auth_configuration: {},
    edition: "xenserver-premium",
    license_server: {},
    bios_strings: {},
    power_on_mode: "",
    power_on_config: {},
    local_cache_sr: NULL_REF,
    chipset_info: { iommu: "true" },
    PCIs: [],
    PGPUs: [],
    PUSBs: [],
    ssl_legacy: false,
    guest_VCPUs_params: {},
    display: "enabled",
    virtual_hardware_platform_versions: [0, 1, 2],
    control_domain: dom0?.ref ?? NULL_REF,
    updates_requiring_reboot: [],
    features: [],
    iscsi_iqn: "",
    multipathing: false,
    uefi_certificates: "",
    certificates: [],
    editions: ["xenserver-premium"],
    pending_guidances: [],
    tls_verification_enabled: true,
    https_only: false,
  };
}

/** Field names of host records, for the generated getters. */
export const HOST_FIELDS: readonly string[] = [
  "uuid", "name_label", "name_description", "memory_overhead", "allowed_operations", "current_operations",
  "API_version_major", "API_version_minor", "API_version_vendor", "API_version_vendor_implementation", "enabled",
  "software_version", "other_config", "capabilities", "cpu_configuration", "sched_policy", "supported_bootloaders",
  "resident_VMs", "logging", "PIFs", "suspend_image_sr", "crash_dump_sr", "crashdumps", "patches", "updates", "PBDs",
  "host_CPUs", "cpu_info", "hostname", "address", "metrics", "license_params", "ha_statefiles", "ha_network_peers",
  "blobs", "tags", "external_auth_type", "external_auth_service_name", "external_auth_configuration", "edition",
  "license_server", "bios_strings", "power_on_mode", "power_on_config", "local_cache_sr", "chipset_info", "PCIs",
  "PGPUs", "PUSBs", "ssl_legacy", "guest_VCPUs_params", "display", "virtual_hardware_platform_versions",
  "control_domain", "updates_requiring_reboot", "features", "iscsi_iqn", "multipathing", "uefi_certificates",
  "certificates", "editions", "pending_guidances", "tls_verification_enabled", "https_only",
];

/** A host_metrics record. */
export function hostMetricsRecord(world: World, db: PoolDb, row: HostRow): Record<string, XapiValue> {
  const facts = world.machineByUuid(row.uuid)?.facts;
  return {
    uuid: row.metricsUuid,
    memory_total: hostTotalBytes(db, row.ref, facts),
    memory_free: hostFreeBytes(db, row.ref, facts),
    live: row.live,
    last_updated: new Date(row.lastUpdated),
    other_config: {},
  };
}

/** Field names of host_metrics records. */
export const HOST_METRICS_FIELDS: readonly string[] = ["uuid", "memory_total", "memory_free", "live", "last_updated", "other_config"];
