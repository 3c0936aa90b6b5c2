/** How values read on screen: enum labels, state badges, times, memory. */
import { html, nothing, type TemplateResult } from "lit-html";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { MembershipState, PoolState } from "../../../gen/hostaggregates/v1/aggregate_pb.js";
import { HostLiveness, HostRole, MaintenanceState } from "../../../gen/hostaggregates/v1/host_pb.js";
import { OperationKind, OperationState, StepState, VmMoveState } from "../../../gen/hostaggregates/v1/operation_pb.js";
import { bytes } from "../../../cli/output.js";

export { bytes };

type Tone = "ok" | "busy" | "warn" | "bad" | "muted";

/** An enum value's name without its prefix (the generated enums already drop it), "-" for UNSPECIFIED. */
export function label(e: Record<number, string>, value: number): string {
  const name = e[value];
  return !name || name === "UNSPECIFIED" ? "-" : name;
}

function badge(text: string, tone: Tone): TemplateResult {
  return html`<span class="badge ${tone}">${text}</span>`;
}

const poolTone: Record<number, Tone> = {
  [PoolState.EMPTY]: "muted",
  [PoolState.CHANGING]: "busy",
  [PoolState.ACTIVE]: "ok",
  [PoolState.ERROR]: "bad",
};
export const poolStateBadge = (s: PoolState) => badge(label(PoolState, s), poolTone[s] ?? "muted");

const operationTone: Record<number, Tone> = {
  [OperationState.PENDING]: "muted",
  [OperationState.RUNNING]: "busy",
  [OperationState.SUCCEEDED]: "ok",
  [OperationState.FAILED]: "bad",
  [OperationState.CANCELLED]: "warn",
};
export const operationStateBadge = (s: OperationState) => badge(label(OperationState, s), operationTone[s] ?? "muted");

const stepTone: Record<number, Tone> = {
  [StepState.PENDING]: "muted",
  [StepState.RUNNING]: "busy",
  [StepState.DONE]: "ok",
  [StepState.SKIPPED]: "muted",
  [StepState.FAILED]: "bad",
  [StepState.CANCELLED]: "warn",
};
export const stepStateBadge = (s: StepState) => badge(label(StepState, s), stepTone[s] ?? "muted");

const moveTone: Record<number, Tone> = {
  [VmMoveState.PLANNED]: "muted",
  [VmMoveState.MIGRATING]: "busy",
  [VmMoveState.DONE]: "ok",
  [VmMoveState.FAILED]: "bad",
  [VmMoveState.SKIPPED]: "warn",
};
export const moveStateBadge = (s: VmMoveState) => badge(label(VmMoveState, s), moveTone[s] ?? "muted");

const livenessTone: Record<number, Tone> = {
  [HostLiveness.ALIVE]: "ok",
  [HostLiveness.XAPI_UNREACHABLE]: "warn",
  [HostLiveness.UNREACHABLE]: "bad",
  [HostLiveness.FAILED]: "bad",
};
export const livenessBadge = (s: HostLiveness) => badge(label(HostLiveness, s) === "-" ? "NO HEARTBEAT" : label(HostLiveness, s), livenessTone[s] ?? "muted");

const membershipTone: Record<number, Tone> = {
  [MembershipState.JOINING]: "busy",
  [MembershipState.MEMBER]: "ok",
  [MembershipState.LEAVING]: "busy",
  [MembershipState.FAILED]: "bad",
};
export const membershipBadge = (s: MembershipState) => badge(label(MembershipState, s), membershipTone[s] ?? "muted");

const maintenanceTone: Record<number, Tone> = {
  [MaintenanceState.NONE]: "muted",
  [MaintenanceState.ENTERING]: "busy",
  [MaintenanceState.IN_MAINTENANCE]: "warn",
  [MaintenanceState.LEAVING]: "busy",
};
export const maintenanceBadge = (s: MaintenanceState) => badge(label(MaintenanceState, s), maintenanceTone[s] ?? "muted");

export const enabledBadge = (enabled: boolean) => badge(enabled ? "enabled" : "disabled", enabled ? "ok" : "muted");

export const roleLabel = (r: HostRole) => label(HostRole, r);
export const kindLabel = (k: OperationKind) => label(OperationKind, k);

/** A timestamp as local date and time, with the ISO instant as a tooltip. */
export function when(ts: Timestamp | undefined): TemplateResult | string {
  if (!ts || (ts.seconds === 0n && ts.nanos === 0)) return "-";
  const d = new Date(Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6));
  const sameDay = d.toDateString() === new Date().toDateString();
  const shown = sameDay ? d.toLocaleTimeString() : d.toLocaleString();
  return html`<time datetime=${d.toISOString()} title=${d.toISOString()}>${shown}</time>`;
}

/** A 0..1 fraction as a labelled progress bar and a percentage. */
export function progressBar(fraction: number, what: string): TemplateResult {
  const percent = Math.round(Math.max(0, Math.min(1, fraction)) * 100);
  return html`<span class="progress"><progress max="100" .value=${percent} aria-label=${what}></progress> <span>${percent}%</span></span>`;
}

/** "code [p1, p2]" for a XenAPI error, or nothing. */
export function xapiText(code: string | undefined, params: readonly string[] = []): TemplateResult | typeof nothing {
  if (!code) return nothing;
  return html`<span class="xapi">XenAPI <code>${code}</code>${params.length ? html` [${params.join(", ")}]` : nothing}</span>`;
}
