/**
 * One aggregate: its pool (state, master, uuid, error, drift, lost VMs), its hosts with their VMs,
 * metadata editing, add / remove host, repair, recover master, rename, delete, and its operations.
 */
import { html, nothing, type TemplateResult } from "lit-html";
import { repeat } from "lit-html/directives/repeat.js";
import { MembershipState, PoolState, type Aggregate } from "../../../../gen/hostaggregates/v1/aggregate_pb.js";
import { HostLiveness, type Host } from "../../../../gen/hostaggregates/v1/host_pb.js";
import { OperationState, type Operation } from "../../../../gen/hostaggregates/v1/operation_pb.js";
import { allPages } from "../api.js";
import { OperationFollower, confirm, hasEnded, modal, operationCard } from "../components.js";
import {
  bytes,
  enabledBadge,
  kindLabel,
  label,
  livenessBadge,
  maintenanceBadge,
  membershipBadge,
  operationStateBadge,
  poolStateBadge,
  progressBar,
  when,
  xapiText,
} from "../format.js";
import { View, formValues, submitted, type ViewContext } from "../view.js";

export class AggregateView extends View {
  private readonly id: bigint;
  private aggregate?: Aggregate;
  private hosts: Host[] = [];
  private freeHosts: Host[] = [];
  private operations: Operation[] = [];
  /** Operations started from this page, followed live (newest first). */
  private followed: OperationFollower[] = [];

  constructor(ctx: ViewContext, container: HTMLElement, idText: string) {
    super(ctx, container);
    this.id = /^\d+$/.test(idText) ? BigInt(idText) : -1n;
  }

  title(): string {
    return this.aggregate ? `Aggregate ${this.aggregate.name}` : `Aggregate ${this.id}`;
  }

  protected override head() {
    const a = this.aggregate;
    return a ? { text: a.name, sub: html`Aggregate ${a.id} · <span class="uuid">${a.uuid}</span>` } : { text: `Aggregate ${this.id < 0n ? "?" : this.id}` };
  }

  start(): void {
    this.keepFresh(
      async () => {
        const { api } = this.ctx;
        const signal = this.signal;
        const [aggregate, members, all, ops] = await Promise.all([
          api.aggregates.getAggregate({ id: this.id }, { signal }),
          api.hosts.listHosts({ aggregateId: this.id, pageSize: 1000 }, { signal }),
          allPages(async (pageToken) => {
            const r = await api.hosts.listHosts({ pageToken, pageSize: 1000 }, { signal });
            return { items: r.hosts, next: r.nextPageToken };
          }),
          api.operations.listOperations({ aggregateId: this.id, pageSize: 10 }, { signal }),
        ]);
        // ListHosts leaves out resident VMs; GetHost has them.
        this.hosts = await Promise.all(members.hosts.map((h) => api.hosts.getHost({ name: h.name }, { signal })));
        this.aggregate = aggregate;
        this.freeHosts = all.filter((h) => h.aggregateId === 0n);
        this.operations = ops.operations;
        document.title = `${this.title()} — host-aggregates`;
      },
      (e) => e.aggregateId === this.id || e.aggregateId === 0n,
    );
  }

  /** Follows an operation this page started, on a live card. */
  private follow(op: Operation): void {
    const follower = new OperationFollower(this.ctx.api, op.id, this.signal, () => this.update(), op);
    this.followed = [follower, ...this.followed.filter((f) => f.id !== op.id)].slice(0, 3);
    void follower.run().then((last) => {
      if (last && hasEnded(last)) this.ctx.announce(`${kindLabel(last.kind)} ${last.host}: ${label(OperationState, last.state)}`);
    });
  }

  private async addHost(form: HTMLFormElement): Promise<void> {
    const host = (formValues(form).host ?? "").trim();
    await this.act("add-host", async () => {
      const op = await this.ctx.api.aggregates.addHost({ aggregateId: this.id, host });
      this.follow(op);
      return `Adding ${host}: operation ${op.id} accepted.`;
    });
  }

  private async removeHost(host: string): Promise<void> {
    const ok = await confirm(
      `Remove ${host}?`,
      html`<p>${host} is ejected from the pool of ${this.aggregate?.name}: XenServer reboots it and it registers again as a standalone host.</p>
        <p>It must be disabled and run no VMs; a master hands its role over first.</p>`,
      `Remove ${host}`,
      true,
    );
    if (!ok) return;
    await this.act(`host:${host}`, async () => {
      const op = await this.ctx.api.aggregates.removeHost({ aggregateId: this.id, host });
      this.follow(op);
      return `Removing ${host}: operation ${op.id} accepted.`;
    });
  }

  private async setEnabled(host: string, enabled: boolean): Promise<void> {
    await this.act(`host:${host}`, async () => {
      await this.ctx.api.hosts.setHostEnabled({ name: host, enabled });
      return `${host} ${enabled ? "enabled" : "disabled"}.`;
    });
  }

  private async repair(): Promise<void> {
    const ok = await confirm(
      `Repair ${this.aggregate?.name}?`,
      html`<p>The controller re-reads the real pool from its master and converges the record to it; an ERROR state is cleared.</p>`,
      "Repair",
    );
    if (!ok) return;
    await this.act("pool", async () => {
      const a = await this.ctx.api.aggregates.repairAggregate({ id: this.id });
      this.aggregate = a;
      return `Repaired: the pool is ${PoolState[a.pool?.state ?? 0]}.`;
    });
  }

  private async recoverMaster(): Promise<void> {
    const candidates = (this.aggregate?.members ?? []).filter((m) => !m.master && m.state === MembershipState.MEMBER).map((m) => m.host);
    const choice = await modal<string>(
      "Recover the pool master",
      (close) => html`<form
        @submit=${(e: SubmitEvent) => {
          const form = submitted(e);
          close(formValues(form).newMaster ?? "");
        }}
      >
        <p>Promotes a surviving member after the master (${this.aggregate?.pool?.masterHost || "none"}) failed.</p>
        <label
          >New master
          <select name="newMaster" autofocus>
            <option value="">let the controller choose (enabled, alive, most free memory)</option>
            ${candidates.map((h) => html`<option value=${h}>${h}</option>`)}
          </select>
        </label>
        <div class="buttons">
          <button type="button" @click=${() => close(undefined)}>Cancel</button>
          <button type="submit" class="danger">Recover master</button>
        </div>
      </form>`,
    );
    if (choice === undefined) return;
    await this.act("pool", async () => {
      const op = await this.ctx.api.aggregates.recoverMaster({ id: this.id, newMaster: choice });
      this.follow(op);
      return `Master recovery: operation ${op.id} accepted.`;
    });
  }

  private async saveSettings(form: HTMLFormElement): Promise<void> {
    const v = formValues(form);
    const a = this.aggregate;
    if (!a) return;
    const name = (v.name ?? "").trim();
    const zone = (v.zone ?? "").trim();
    await this.act("update", async () => {
      const updated = await this.ctx.api.aggregates.updateAggregate({
        id: this.id,
        name: name !== a.name ? name : undefined,
        availabilityZone: zone !== a.availabilityZone ? zone : undefined,
      });
      this.aggregate = updated;
      return `Saved: ${updated.name}, zone ${updated.availabilityZone || "none"}.`;
    });
  }

  private async setMetadata(form: HTMLFormElement): Promise<void> {
    const v = formValues(form);
    const key = v.key ?? "";
    await this.act("metadata", async () => {
      this.aggregate = await this.ctx.api.aggregates.setAggregateMetadata({ id: this.id, metadata: { [key]: v.value ?? "" } });
      form.reset();
      return `Metadata ${key} set.`;
    });
  }

  private async removeMetadata(key: string): Promise<void> {
    await this.act("metadata", async () => {
      this.aggregate = await this.ctx.api.aggregates.setAggregateMetadata({ id: this.id, removeKeys: [key] });
      return `Metadata ${key} removed.`;
    });
  }

  private async deleteAggregate(): Promise<void> {
    const a = this.aggregate;
    if (!a) return;
    const ok = await confirm(`Delete ${a.name}?`, html`<p>The aggregate ${a.name} (id ${a.id}) is deleted. The controller refuses while it has hosts.</p>`, `Delete ${a.name}`, true);
    if (!ok) return;
    const deleted = await this.act("delete", async () => {
      await this.ctx.api.aggregates.deleteAggregate({ id: this.id });
    });
    if (deleted) {
      this.ctx.announce(`Deleted aggregate ${a.name}.`);
      this.ctx.navigate("#/");
    }
  }

  protected template(): TemplateResult {
    const a = this.aggregate;
    if (!a) return html`${this.loadStatus()}`;
    const pool = a.pool;
    return html`
      ${this.loadStatus()}
      <section class="panel" aria-labelledby="pool-title">
        <h2 id="pool-title">Pool</h2>
        <dl class="facts">
          <div><dt>State</dt><dd>${poolStateBadge(pool?.state ?? 0)}</dd></div>
          <div><dt>Availability zone</dt><dd>${a.availabilityZone || "-"}</dd></div>
          <div><dt>Master</dt><dd>${pool?.masterHost ? html`<a href="#/hosts/${pool.masterHost}">${pool.masterHost}</a>` : "-"}</dd></div>
          <div><dt>Pool uuid</dt><dd class="uuid">${pool?.poolUuid || "-"}</dd></div>
          <div><dt>Maintenance headroom</dt><dd>${a.members.length ? `${pool?.maintenanceHeadroom ?? 0} host(s)` : "-"}</dd></div>
          <div><dt>Checked against the pool</dt><dd>${when(pool?.checkedAt)}</dd></div>
          <div><dt>Created</dt><dd>${when(a.createdAt)}</dd></div>
          <div><dt>Updated</dt><dd>${when(a.updatedAt)}</dd></div>
        </dl>
        ${pool?.lastError
          ? html`<div class="problem" role="alert">
              <p>
                <strong>Last error:</strong> ${pool.lastError.message} ${xapiText(pool.lastError.xapiCode, pool.lastError.xapiParams)}
                ${pool.lastError.operationId ? html`(operation <a href="#/operations/${pool.lastError.operationId}">${pool.lastError.operationId}</a>)` : nothing}
                ${when(pool.lastError.occurredAt)}
              </p>
              <p class="hint">Repair re-reads the real pool and clears the error.</p>
            </div>`
          : nothing}
        ${pool?.drift.length
          ? html`<div class="warning">
              <p><strong>Drift</strong> (the record and the real pool differ):</p>
              <ul>
                ${pool.drift.map((d) => html`<li>${d}</li>`)}
              </ul>
            </div>`
          : nothing}
        ${pool?.lostVms.length
          ? html`<div class="warning">
              <p><strong>VMs lost with the failed master:</strong></p>
              <ul>
                ${pool.lostVms.map((v) => html`<li>${v.vmName} <span class="uuid">${v.vmUuid}</span> on ${v.host}</li>`)}
              </ul>
            </div>`
          : nothing}
        <div class="buttons">
          <button type="button" @click=${() => void this.repair()} ?disabled=${this.busy("pool")}>Repair…</button>
          <button type="button" @click=${() => void this.recoverMaster()} ?disabled=${this.busy("pool") || a.members.length === 0}>Recover master…</button>
        </div>
        ${this.outcome("pool")}
      </section>

      <section aria-labelledby="hosts-title">
        <h2 id="hosts-title">Hosts (${a.members.length})</h2>
        ${this.hostsTable(a)}
        <form class="inline" aria-label="add a host" @submit=${(e: SubmitEvent) => void this.addHost(submitted(e))}>
          <label
            >Add host
            <select name="host" required>
              ${this.freeHosts.length === 0 ? html`<option value="">no registered host is free</option>` : nothing}
              ${this.freeHosts.map(
                (h) => html`<option value=${h.name}>${h.name}${h.availabilityZoneHint ? ` (zone ${h.availabilityZoneHint})` : ""}${h.capacity ? `, ${h.capacity.runningVms} running VM(s)` : ""}</option>`,
              )}
            </select>
          </label>
          <button type="submit" class="primary" ?disabled=${this.busy("add-host") || this.freeHosts.length === 0}>Add host</button>
        </form>
        ${this.outcome("add-host")}
        ${this.followed.length
          ? html`<div class="followed" aria-label="operations started here">${this.followed.map((f) => (f.op ? operationCard(f.op, f.trouble) : nothing))}</div>`
          : nothing}
      </section>

      <section aria-labelledby="metadata-title" class="panel">
        <h2 id="metadata-title">Metadata</h2>
        ${this.metadataTable(a)}
        <form class="inline" aria-label="set a metadata key" @submit=${(e: SubmitEvent) => void this.setMetadata(submitted(e))}>
          <label>Key <input name="key" required autocomplete="off" /></label>
          <label>Value <input name="value" autocomplete="off" /></label>
          <button type="submit" ?disabled=${this.busy("metadata")}>Set</button>
        </form>
        <p class="sub">The product reads <code>join_force=true</code> and <code>maintenance_max_parallel=N</code>. Setting an existing key replaces its value.</p>
        ${this.outcome("metadata")}
      </section>

      <section aria-labelledby="ops-title">
        <h2 id="ops-title">Recent operations</h2>
        ${this.operationsTable()}
        <p><a href="#/events">Event feed</a> · <a href="#/operations">All operations</a></p>
      </section>

      <section aria-labelledby="settings-title" class="panel">
        <h2 id="settings-title">Name and zone</h2>
        <form class="inline" @submit=${(e: SubmitEvent) => void this.saveSettings(submitted(e))}>
          <label>Name <input name="name" required autocomplete="off" .value=${a.name} /></label>
          <label>Availability zone <input name="zone" autocomplete="off" .value=${a.availabilityZone} /></label>
          <button type="submit" ?disabled=${this.busy("update")}>Save</button>
        </form>
        ${this.outcome("update")}
        <h3>Delete</h3>
        <p class="sub">Refused while the aggregate has hosts.</p>
        <button type="button" class="danger" @click=${() => void this.deleteAggregate()} ?disabled=${this.busy("delete")}>Delete aggregate…</button>
        ${this.outcome("delete")}
      </section>
    `;
  }

  private hostsTable(a: Aggregate): TemplateResult {
    const byName = new Map(this.hosts.map((h) => [h.name, h]));
    return html`<div class="table-wrap">
      <table class="hosts">
        <thead>
          <tr>
            <th scope="col">Host</th>
            <th scope="col">Membership</th>
            <th scope="col">Liveness</th>
            <th scope="col">Enabled</th>
            <th scope="col">Maintenance</th>
            <th scope="col">Memory free</th>
            <th scope="col">Resident VMs</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          ${a.members.length === 0 ? html`<tr><td colspan="8" class="empty">No hosts: add a registered host below; the first one founds the pool.</td></tr>` : nothing}
          ${repeat(
            a.members,
            (m) => m.host,
            (m) => {
              const h = byName.get(m.host);
              return html`<tr data-host=${m.host}>
                <th scope="row"><a href="#/hosts/${m.host}">${m.host}</a>${m.master ? html` <span class="badge master">master</span>` : nothing}</th>
                <td>${membershipBadge(m.state)}</td>
                <td>${h ? livenessBadge(h.liveness) : "-"}${h?.statusReason ? html`<div class="sub">${h.statusReason}</div>` : nothing}</td>
                <td>${h ? enabledBadge(h.enabled) : "-"}</td>
                <td>${h ? maintenanceBadge(h.maintenance) : "-"}</td>
                <td>${h?.capacity ? html`${bytes(h.capacity.memoryFreeBytes)} <span class="sub">of ${bytes(h.capacity.memoryTotalBytes)}</span>` : "-"}</td>
                <td>
                  ${h && h.vms.length
                    ? html`<ul class="vms">
                        ${h.vms.map(
                          (v) => html`<li>${v.name} <span class="sub">${v.powerState}, ${bytes(v.memoryBytes)}${v.originHost ? `, from ${v.originHost}` : ""}</span></li>`,
                        )}
                      </ul>`
                    : html`<span class="sub">none</span>`}
                </td>
                <td class="actions">
                  ${h
                    ? html`<button type="button" @click=${() => void this.setEnabled(m.host, !h.enabled)} ?disabled=${this.busy(`host:${m.host}`)}>
                        ${h.enabled ? "Disable" : "Enable"}<span class="visually-hidden"> ${m.host}</span>
                      </button>`
                    : nothing}
                  <a class="button" href="#/hosts/${m.host}">Maintenance<span class="visually-hidden"> of ${m.host}</span></a>
                  <button type="button" class="danger" @click=${() => void this.removeHost(m.host)} ?disabled=${this.busy(`host:${m.host}`)}>
                    Remove<span class="visually-hidden"> ${m.host}</span>…
                  </button>
                  ${this.outcome(`host:${m.host}`)}
                </td>
              </tr>`;
            },
          )}
        </tbody>
      </table>
    </div>
    ${this.hosts.some((h) => h.liveness !== HostLiveness.ALIVE) ? html`<p class="hint">A host that is not ALIVE cannot take part in pool changes until its agent reports again.</p>` : nothing}`;
  }

  private metadataTable(a: Aggregate): TemplateResult {
    const entries = Object.entries(a.metadata).sort(([x], [y]) => x.localeCompare(y));
    if (entries.length === 0) return html`<p class="sub">No metadata.</p>`;
    return html`<div class="table-wrap">
      <table class="metadata">
        <thead>
          <tr>
            <th scope="col">Key</th>
            <th scope="col">Value</th>
            <th scope="col"><span class="visually-hidden">Actions</span></th>
          </tr>
        </thead>
        <tbody>
          ${repeat(
            entries,
            ([k]) => k,
            ([k, v]) => html`<tr>
              <th scope="row"><code>${k}</code></th>
              <td>${v}</td>
              <td>
                <button type="button" @click=${() => void this.removeMetadata(k)} ?disabled=${this.busy("metadata")}>Remove<span class="visually-hidden"> ${k}</span></button>
              </td>
            </tr>`,
          )}
        </tbody>
      </table>
    </div>`;
  }

  private operationsTable(): TemplateResult {
    if (this.operations.length === 0) return html`<p class="sub">No operations yet.</p>`;
    return operationsTableOf(this.operations, false);
  }
}

/** A table of operations (shared with the operations list). */
export function operationsTableOf(ops: Operation[], showAggregate: boolean): TemplateResult {
  return html`<div class="table-wrap">
    <table class="operations">
      <thead>
        <tr>
          <th scope="col">Operation</th>
          <th scope="col">Kind</th>
          <th scope="col">Host</th>
          ${showAggregate ? html`<th scope="col">Aggregate</th>` : nothing}
          <th scope="col">State</th>
          <th scope="col">Progress</th>
          <th scope="col">Created</th>
          <th scope="col">Ended</th>
        </tr>
      </thead>
      <tbody>
        ${repeat(
          ops,
          (op) => op.id,
          (op) => html`<tr data-operation=${op.id}>
            <th scope="row"><a href="#/operations/${op.id}">${op.id}</a></th>
            <td>${kindLabel(op.kind)}</td>
            <td>${op.host ? html`<a href="#/hosts/${op.host}">${op.host}</a>` : "-"}</td>
            ${showAggregate ? html`<td>${op.aggregateId ? html`<a href="#/aggregates/${op.aggregateId}">${op.aggregateId}</a>` : "-"}</td>` : nothing}
            <td>${operationStateBadge(op.state)}${op.cancelRequested && !hasEnded(op) ? html` <span class="sub">cancelling</span>` : nothing}</td>
            <td>${progressBar(op.progress, `progress of ${op.id}`)}</td>
            <td>${when(op.createdAt)}</td>
            <td>${when(op.finishedAt)}</td>
          </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}
