/** The pool record as xapi returns it, and its field list. */
import type { XapiValue } from "../xmlrpc-codec.js";
import { NULL_REF } from "../ids.js";
import type { PoolDb } from "../state/pool-db.js";
import type { World } from "../world.js";

/** The pool record of a database. */
export function poolRecord(world: World, db: PoolDb): Record<string, XapiValue> {
  const masterRow = db.masterRow();
  const master = masterRow ? world.machineByUuid(masterRow.uuid) : undefined;
  const shared = [...db.srs.values()].find((s) => s.shared);
  return {
    uuid: db.pool.uuid,
    name_label: db.pool.nameLabel,
    name_description: db.pool.nameDescription,
    master: db.pool.masterRef,
    default_SR: shared?.ref ?? NULL_REF,
    suspend_image_SR: shared?.ref ?? NULL_REF,
    crash_dump_SR: shared?.ref ?? NULL_REF,
    other_config: { ...db.pool.otherConfig },
    ha_enabled: master?.facts.haEnabled ?? false,
    ha_configuration: {},
    ha_statefiles: [],
    ha_host_failures_to_tolerate: 0,
    ha_plan_exists_for: 0,
    ha_allow_overcommit: false,
    ha_overcommitted: false,
    blobs: {},
    tags: [],
    gui_config: {},
    health_check_config: {},
    wlb_url: "",
    wlb_username: "",
    wlb_enabled: false,
    wlb_verify_cert: false,
    redo_log_enabled: false,
    redo_log_vdi: NULL_REF,
    vswitch_controller: "",
    restrictions: {},
    metadata_VDIs: [],
    ha_cluster_stack: "xhad",
    allowed_operations: db.designateInProgress || db.poolOperation ? [] : ["ha_enable", "cluster_create", "designate_new_master"],
    current_operations: {},
    guest_agent_config: {},
    cpu_info: { vendor: master?.facts.cpuVendor ?? "", cpu_count: String(master?.facts.cpuCount ?? 0), socket_count: "2" },
    policy_no_vendor_device: false,
    live_patching_disabled: false,
    igmp_snooping_enabled: false,
    uefi_certificates: "",
    is_psr_pending: false,
    tls_verification_enabled: true,
    repositories: [],
    client_certificate_auth_enabled: false,
    client_certificate_auth_name: "",
    repository_proxy_url: "",
    repository_proxy_username: "",
    migration_compression: false,
    coordinator_bias: true,
  };
}

/** Field names of pool records. */
export const POOL_FIELDS: readonly string[] = [
  "uuid", "name_label", "name_description", "master", "default_SR", "suspend_image_SR", "crash_dump_SR", "other_config",
  "ha_enabled", "ha_configuration", "ha_statefiles", "ha_host_failures_to_tolerate", "ha_plan_exists_for",
  "ha_allow_overcommit", "ha_overcommitted", "blobs", "tags", "gui_config", "health_check_config", "wlb_url",
  "wlb_username", "wlb_enabled", "wlb_verify_cert", "redo_log_enabled", "redo_log_vdi", "vswitch_controller",
  "restrictions", "metadata_VDIs", "ha_cluster_stack", "allowed_operations", "current_operations", "guest_agent_config",
  "cpu_info", "policy_no_vendor_device", "live_patching_disabled", "igmp_snooping_enabled", "uefi_certificates",
  "is_psr_pending", "tls_verification_enabled", "repositories", "client_certificate_auth_enabled",
  "client_certificate_auth_name", "repository_proxy_url", "repository_proxy_username", "migration_compression",
  "coordinator_bias",
];
