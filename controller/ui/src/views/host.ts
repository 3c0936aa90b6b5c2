/**
 * One host: its facts and resident VMs; enable / disable; maintenance — a dry-run plan (which VM goes
 * where, blockers) shown before it is confirmed, then the evacuation live — and leaving maintenance,
 * optionally moving the VMs back.
 */
import { html, nothing, type TemplateResult } from "lit-html";
import { HostRole, MaintenanceState, type Host } from "../../../../gen/hostaggregates/v1/host_pb.js";
import { OperationState, type Operation } from "../../../../gen/hostaggregates/v1/operation_pb.js";
import { OperationFollower, confirm, evacuationTables, hasEnded, operationCard } from "../components.js";
import { bytes, enabledBadge, label, livenessBadge, maintenanceBadge, membershipBadge, roleLabel, when } from "../format.js";
import { View, formValues, submitted, type ViewContext } from "../view.js";
import { operationsTableOf } from "./aggregate.js";

export class HostView extends View {
  private host?: Host;
  private aggregateName = "";
  private operations: Operation[] = [];
  /** The last dry run, shown until it is confirmed or discarded. */
  private plan?: { op: Operation; maxParallel: number; allowPartial: boolean };
  private follower?: OperationFollower;

  constructor(
    ctx: ViewContext,
    container: HTMLElement,
    private readonly name: string,
  ) {
    super(ctx, container);
  }

  title(): string {
    return `Host ${this.name}`;
  }

  protected override head() {
    const h = this.host;
    return h ? { text: h.name, sub: html`Host <span class="uuid">${h.uuid || "uuid not reported yet"}</span>` } : { text: `Host ${this.name}` };
  }

  start(): void {
    this.keepFresh(
      async () => {
        const { api } = this.ctx;
        const [host, ops] = await Promise.all([
          api.hosts.getHost({ name: this.name }, { signal: this.signal }),
          api.operations.listOperations({ host: this.name, pageSize: 10 }, { signal: this.signal }),
        ]);
        this.aggregateName = host.aggregateId ? (await api.aggregates.getAggregate({ id: host.aggregateId }, { signal: this.signal })).name : "";
        this.host = host;
        this.operations = ops.operations;
        // Follow a maintenance that is under way, also when it was started elsewhere.
        const running = ops.operations.find((op) => !hasEnded(op));
        if (running && this.follower?.id !== running.id) this.follow(running);
      },
      (e) => e.host === this.name || (this.host !== undefined && e.aggregateId !== 0n && e.aggregateId === this.host.aggregateId),
    );
  }

  private follow(op: Operation): void {
    const follower = new OperationFollower(this.ctx.api, op.id, this.signal, () => this.update(), op);
    this.follower = follower;
    void follower.run().then((last) => {
      if (last && hasEnded(last) && this.follower === follower) this.ctx.announce(`Operation ${last.id}: ${label(OperationState, last.state)}`);
    });
  }

  private async planMaintenance(form: HTMLFormElement): Promise<void> {
    const v = formValues(form);
    const maxParallel = v.maxParallel ? Number(v.maxParallel) : 0;
    const allowPartial = v.allowPartial === "on";
    this.plan = undefined;
    this.clearOutcome("start");
    await this.act("plan", async () => {
      const op = await this.ctx.api.hosts.startMaintenance({ host: this.name, validateOnly: true, maxParallel, allowPartial });
      this.plan = { op, maxParallel, allowPartial };
      const ev = op.evacuation;
      return `Plan ready: ${ev?.moves.length ?? 0} VM move(s), ${ev?.blockers.length ?? 0} blocker(s).`;
    });
  }

  private async startMaintenance(): Promise<void> {
    const plan = this.plan;
    if (!plan) return;
    await this.act("start", async () => {
      const op = await this.ctx.api.hosts.startMaintenance({ host: this.name, maxParallel: plan.maxParallel, allowPartial: plan.allowPartial });
      this.plan = undefined;
      this.clearOutcome("plan");
      this.follow(op);
      this.focusAfterRender(".op-card a");
      return `Maintenance of ${this.name} started: operation ${op.id}.`;
    });
  }

  private async stopMaintenance(form: HTMLFormElement): Promise<void> {
    const rebalance = formValues(form).rebalance === "on";
    await this.act("stop", async () => {
      const op = await this.ctx.api.hosts.stopMaintenance({ host: this.name, rebalance });
      this.follow(op);
      this.focusAfterRender(".op-card a");
      return `Leaving maintenance${rebalance ? " and moving VMs back" : ""}: operation ${op.id}.`;
    });
  }

  private async cancel(op: Operation): Promise<void> {
    const ok = await confirm(`Cancel ${op.id}?`, html`<p>Running steps finish; no new step starts. VMs already moved stay where they are.</p>`, "Cancel operation", true);
    if (!ok) return;
    await this.act("cancel", async () => {
      await this.ctx.api.operations.cancelOperation({ id: op.id });
      return `Cancellation of ${op.id} requested.`;
    });
  }

  private async setEnabled(enabled: boolean): Promise<void> {
    await this.act("enabled", async () => {
      this.host = await this.ctx.api.hosts.setHostEnabled({ name: this.name, enabled });
      return `${this.name} ${enabled ? "enabled" : "disabled"}.`;
    });
  }

  private async forget(): Promise<void> {
    const ok = await confirm(`Forget ${this.name}?`, html`<p>The controller forgets this host. Its agent registers it again when it next starts.</p>`, `Forget ${this.name}`, true);
    if (!ok) return;
    const done = await this.act("forget", async () => {
      await this.ctx.api.hosts.forgetHost({ name: this.name });
    });
    if (done) {
      this.ctx.announce(`Forgot ${this.name}.`);
      this.ctx.navigate("#/hosts");
    }
  }

  protected template(): TemplateResult {
    const h = this.host;
    if (!h) return html`${this.loadStatus()}`;
    return html`
      ${this.loadStatus()}
      <section class="panel" aria-labelledby="facts-title">
        <h2 id="facts-title">State</h2>
        <dl class="facts">
          <div>
            <dt>Aggregate</dt>
            <dd>${h.aggregateId ? html`<a href="#/aggregates/${h.aggregateId}">${this.aggregateName || h.aggregateId}</a> ${membershipBadge(h.membership)}` : "none"}</dd>
          </div>
          <div><dt>Role</dt><dd>${roleLabel(h.role)}</dd></div>
          <div><dt>Liveness</dt><dd>${livenessBadge(h.liveness)} <span class="sub">last heartbeat ${when(h.lastHeartbeatAt)}</span></dd></div>
          <div><dt>Enabled</dt><dd>${enabledBadge(h.enabled)}</dd></div>
          <div><dt>Maintenance</dt><dd>${maintenanceBadge(h.maintenance)}</dd></div>
          <div><dt>Memory</dt><dd>${h.capacity ? `${bytes(h.capacity.memoryFreeBytes)} free of ${bytes(h.capacity.memoryTotalBytes)}` : "-"}</dd></div>
          <div><dt>Running VMs</dt><dd>${h.capacity?.runningVms ?? "-"}</dd></div>
          <div><dt>XAPI address</dt><dd>${h.xapiAddress || "-"}</dd></div>
          <div><dt>Agent</dt><dd>${h.agentEndpoint || "-"}</dd></div>
          <div><dt>Zone hint</dt><dd>${h.availabilityZoneHint || "-"}</dd></div>
          <div><dt>Pool uuid</dt><dd class="uuid">${h.pool?.poolUuid || "-"}</dd></div>
          <div><dt>Registered</dt><dd>${when(h.registeredAt)}</dd></div>
        </dl>
        ${h.statusReason ? html`<p class="warning">${h.statusReason}</p>` : nothing}
        ${h.pool?.emergencyMode ? html`<p class="problem-inline">The host is in emergency mode: its pool master is unreachable.</p>` : nothing}
        <div class="buttons">
          <button type="button" @click=${() => void this.setEnabled(!h.enabled)} ?disabled=${this.busy("enabled")}>${h.enabled ? "Disable" : "Enable"}</button>
          ${h.aggregateId === 0n ? html`<button type="button" class="danger" @click=${() => void this.forget()} ?disabled=${this.busy("forget")}>Forget host…</button>` : nothing}
        </div>
        ${this.outcome("enabled")} ${this.outcome("forget")}
      </section>

      <section class="panel" aria-labelledby="maintenance-title">
        <h2 id="maintenance-title">Maintenance</h2>
        ${this.maintenancePanel(h)}
      </section>

      <section aria-labelledby="vms-title">
        <h2 id="vms-title">Resident VMs (${h.vms.length})</h2>
        ${h.vms.length === 0
          ? html`<p class="sub">No VMs on this host.</p>`
          : html`<div class="table-wrap">
              <table class="vms">
                <thead>
                  <tr>
                    <th scope="col">VM</th>
                    <th scope="col">Power state</th>
                    <th scope="col">Memory</th>
                    <th scope="col">Moved here from</th>
                  </tr>
                </thead>
                <tbody>
                  ${h.vms.map(
                    (v) => html`<tr>
                      <th scope="row">${v.name} <span class="uuid">${v.uuid}</span></th>
                      <td>${v.powerState}</td>
                      <td>${bytes(v.memoryBytes)}</td>
                      <td>${v.originHost || "-"}</td>
                    </tr>`,
                  )}
                </tbody>
              </table>
            </div>`}
      </section>

      <section aria-labelledby="ops-title">
        <h2 id="ops-title">Recent operations</h2>
        ${this.operations.length ? operationsTableOf(this.operations, true) : html`<p class="sub">No operations yet.</p>`}
      </section>
    `;
  }

  private maintenancePanel(h: Host): TemplateResult {
    const op = this.follower?.op;
    const card =
      op && (!hasEnded(op) || op.evacuation)
        ? html`${operationCard(op, this.follower?.trouble)}
          ${op.evacuation && op.evacuation.moves.length + op.evacuation.blockers.length > 0 ? evacuationTables(op.evacuation, true) : nothing}
          ${!hasEnded(op)
            ? html`<button type="button" class="danger" @click=${() => void this.cancel(op)} ?disabled=${this.busy("cancel") || op.cancelRequested}>
                ${op.cancelRequested ? "Cancellation requested" : "Cancel operation…"}
              </button>`
            : nothing}
          ${this.outcome("cancel")}`
        : nothing;
    if (!h.aggregateId) return html`<p class="sub">Only a member of an aggregate can go into maintenance.</p>${card}`;
    if (h.maintenance === MaintenanceState.IN_MAINTENANCE) {
      return html`<p>${h.name} is in maintenance: evacuated and disabled.</p>
        <form class="inline" aria-label="stop maintenance" @submit=${(e: SubmitEvent) => void this.stopMaintenance(submitted(e))}>
          <label class="check"><input type="checkbox" name="rebalance" checked /> Move the VMs that left back (rebalance)</label>
          <button type="submit" class="primary" ?disabled=${this.busy("stop")}>Stop maintenance</button>
        </form>
        ${this.outcome("stop")} ${card}`;
    }
    if (h.maintenance !== MaintenanceState.NONE) return html`<p>${h.name} is ${label(MaintenanceState, h.maintenance).toLowerCase()} maintenance.</p>${card}`;
    // One operation at a time: while one of this host's runs, show it rather than a new plan.
    if (op && !hasEnded(op)) return html`${this.outcome("start")} ${card}`;
    const plan = this.plan;
    return html`
      <p class="sub">A dry run plans the evacuation without changing anything: which VM goes where, and what blocks it.</p>
      <form class="inline" aria-label="plan maintenance" @submit=${(e: SubmitEvent) => void this.planMaintenance(submitted(e))}>
        <label>Concurrent migrations <input name="maxParallel" type="number" min="1" max="64" placeholder="default" /></label>
        <label class="check"><input type="checkbox" name="allowPartial" /> Move what can move even if some VMs cannot</label>
        <button type="submit" class="primary" ?disabled=${this.busy("plan")}>Plan maintenance (dry run)</button>
      </form>
      ${this.outcome("plan")}
      ${plan?.op.evacuation
        ? html`<section class="plan-panel" aria-labelledby="plan-title">
            <h3 id="plan-title">Evacuation plan for ${h.name}</h3>
            ${plan.op.error ? html`<p class="problem-inline" role="alert">${plan.op.error.message}</p>` : nothing}
            ${evacuationTables(plan.op.evacuation, false)}
            <p class="sub">
              Confirming starts the maintenance: ${h.name} is disabled${h.role === HostRole.MASTER ? ", hands the master role over" : ""} and its VMs are live-migrated. The
              controller plans again as it starts, from the pool as it is then.
              ${plan.op.evacuation.blockers.length && !plan.allowPartial ? " With blockers and without “move what can move”, the maintenance fails and nothing moves." : ""}
            </p>
            <div class="buttons">
              <button type="button" class="primary" @click=${() => void this.startMaintenance()} ?disabled=${this.busy("start")}>Confirm: start maintenance</button>
              <button
                type="button"
                @click=${() => {
                  this.plan = undefined;
                  this.clearOutcome("plan");
                  this.focusAfterRender("form[aria-label='plan maintenance'] button[type=submit]");
                }}
              >
                Discard plan
              </button>
            </div>
          </section>`
        : nothing}
      ${this.outcome("start")} ${card}
    `;
  }
}
