/** SR records (each host's local SR, and the optional shared SR), and their field list. */
import type { XapiValue } from "../xmlrpc-codec.js";
import type { SrRow } from "../state/rows.js";

/** An SR record (local SRs and the optional shared SR). */
export function srRecord(sr: SrRow): Record<string, XapiValue> {
  return {
    uuid: sr.uuid,
    name_label: sr.nameLabel,
    name_description: "",
    allowed_operations: ["scan", "update", "vdi_create", "vdi_destroy"],
    current_operations: {},
    VDIs: [],
    PBDs: [],
    virtual_allocation: 0,
    physical_utilisation: 0,
    physical_size: sr.sizeBytes,
    type: sr.type,
    content_type: "user",
    shared: sr.shared,
    other_config: {},
    tags: [],
    sm_config: {},
    blobs: {},
    local_cache_enabled: false,
    introduced_by: "OpaqueRef:NULL",
    clustered: false,
    is_tools_sr: false,
  };
}

/** Field names of SR records. */
export const SR_FIELDS: readonly string[] = [
  "uuid", "name_label", "name_description", "allowed_operations", "current_operations", "VDIs", "PBDs",
  "virtual_allocation", "physical_utilisation", "physical_size", "type", "content_type", "shared", "other_config", "tags",
  "sm_config", "blobs", "local_cache_enabled", "introduced_by", "clustered", "is_tools_sr",
];
