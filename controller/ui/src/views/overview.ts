/** The aggregates overview: every aggregate with its pool's state, master, hosts, headroom, errors and drift; create one. */
import { html, nothing } from "lit-html";
import { repeat } from "lit-html/directives/repeat.js";
import { MembershipState, type Aggregate } from "../../../../gen/hostaggregates/v1/aggregate_pb.js";
import { HostLiveness, type Host } from "../../../../gen/hostaggregates/v1/host_pb.js";
import { OperationState } from "../../../../gen/hostaggregates/v1/operation_pb.js";
import { allPages } from "../api.js";
import { label, poolStateBadge, xapiText } from "../format.js";
import { View, formValues, submitted } from "../view.js";

export class OverviewView extends View {
  private aggregates: Aggregate[] = [];
  private zone = "";
  private zones: string[] = [];
  private hosts: Host[] = [];
  private unfinished = 0;

  title(): string {
    return "Aggregates";
  }

  protected override head() {
    return { text: "Aggregates", sub: "Each aggregate is one XenServer resource pool in one availability zone." };
  }

  start(): void {
    this.keepFresh(async () => {
      const all = await allPages(async (pageToken) => {
        const r = await this.ctx.api.aggregates.listAggregates({ pageToken, pageSize: 1000 }, { signal: this.signal });
        return { items: r.aggregates, next: r.nextPageToken };
      });
      const { api } = this.ctx;
      const [hosts, running, pending] = await Promise.all([
        allPages(async (pageToken) => {
          const r = await api.hosts.listHosts({ pageToken, pageSize: 1000 }, { signal: this.signal });
          return { items: r.hosts, next: r.nextPageToken };
        }),
        api.operations.listOperations({ state: OperationState.RUNNING, pageSize: 1000 }, { signal: this.signal }),
        api.operations.listOperations({ state: OperationState.PENDING, pageSize: 1000 }, { signal: this.signal }),
      ]);
      this.zones = [...new Set(all.map((a) => a.availabilityZone).filter((z) => z !== ""))].sort();
      this.aggregates = all;
      this.hosts = hosts;
      this.unfinished = running.operations.length + pending.operations.length;
    });
  }

  private async create(form: HTMLFormElement): Promise<void> {
    const v = formValues(form);
    const name = v.name ?? "";
    const zone = (v.zone ?? "").trim();
    await this.act("create", async () => {
      const a = await this.ctx.api.aggregates.createAggregate({ name, availabilityZone: zone === "" ? undefined : zone });
      form.reset();
      this.ctx.navigate(`#/aggregates/${a.id}`);
      return `Created aggregate ${a.name} (id ${a.id}).`;
    });
  }

  /** One line on the hosts and operations behind the table. */
  private summary() {
    const free = this.hosts.filter((h) => h.aggregateId === 0n).length;
    const notAlive = this.hosts.filter((h) => h.liveness !== HostLiveness.ALIVE);
    return html`<p class="summary">
      <a href="#/hosts">${this.hosts.length} host(s) registered</a>, ${free} in no aggregate ·
      ${notAlive.length === 0
        ? html`<span class="badge ok">all alive</span>`
        : html`<span class="badge bad">${notAlive.length} not alive</span> ${notAlive.map((h, i) => html`${i ? ", " : ""}<a href="#/hosts/${h.name}">${h.name}</a>`)}`}
      · <a href="#/operations">${this.unfinished} operation(s) not ended</a>
    </p>`;
  }

  protected template() {
    const shown = this.zone === "" ? this.aggregates : this.aggregates.filter((a) => a.availabilityZone === this.zone);
    return html`
      ${this.loadStatus()} ${this.loaded ? this.summary() : nothing}
      <section aria-labelledby="create-title" class="panel">
        <h2 id="create-title">Create an aggregate</h2>
        <form class="inline" @submit=${(e: SubmitEvent) => void this.create(submitted(e))}>
          <label>Name <input name="name" required autocomplete="off" /></label>
          <label>Availability zone <input name="zone" autocomplete="off" placeholder="none" /></label>
          <button type="submit" class="primary" ?disabled=${this.busy("create")}>Create</button>
        </form>
        ${this.outcome("create")}
      </section>
      <section aria-labelledby="list-title">
        <div class="section-head">
          <h2 id="list-title">All aggregates (${shown.length})</h2>
          <label
            >Zone
            <select
              @change=${(e: Event) => {
                this.zone = (e.target as HTMLSelectElement).value;
                this.update();
              }}
            >
              <option value="" ?selected=${this.zone === ""}>all zones</option>
              ${this.zones.map((z) => html`<option value=${z} ?selected=${z === this.zone}>${z}</option>`)}
            </select>
          </label>
        </div>
        <div class="table-wrap">
          <table class="aggregates">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Zone</th>
                <th scope="col">Pool state</th>
                <th scope="col">Master</th>
                <th scope="col">Hosts</th>
                <th scope="col" title="How many hosts can be in maintenance at once with every running VM still placed">Headroom</th>
                <th scope="col">Errors and drift</th>
              </tr>
            </thead>
            <tbody>
              ${shown.length === 0 && this.loaded ? html`<tr><td colspan="7" class="empty">No aggregates yet: create one above.</td></tr>` : nothing}
              ${repeat(
                shown,
                (a) => a.id,
                (a) => html`<tr data-aggregate=${a.name}>
                  <th scope="row"><a href="#/aggregates/${a.id}">${a.name}</a></th>
                  <td>${a.availabilityZone || "-"}</td>
                  <td>${poolStateBadge(a.pool?.state ?? 0)}</td>
                  <td>${a.pool?.masterHost ? html`<a href="#/hosts/${a.pool.masterHost}">${a.pool.masterHost}</a>` : "-"}</td>
                  <td>
                    ${a.members.length === 0
                      ? "-"
                      : a.members.map(
                          (m, i) =>
                            html`${i > 0 ? ", " : ""}<a href="#/hosts/${m.host}">${m.host}</a>${m.state !== MembershipState.MEMBER
                                ? html` <span class="sub">(${label(MembershipState, m.state).toLowerCase()})</span>`
                                : nothing}`,
                        )}
                  </td>
                  <td>${a.members.length ? String(a.pool?.maintenanceHeadroom ?? 0) : "-"}</td>
                  <td>
                    ${a.pool?.lastError
                      ? html`<p class="problem-inline">${a.pool.lastError.message} ${xapiText(a.pool.lastError.xapiCode, a.pool.lastError.xapiParams)}</p>`
                      : nothing}
                    ${a.pool?.drift.length ? html`<ul class="drift">${a.pool.drift.map((d) => html`<li>drift: ${d}</li>`)}</ul>` : nothing}
                    ${a.pool?.lostVms.length ? html`<p class="problem-inline">${a.pool.lostVms.length} VM(s) lost with a failed master</p>` : nothing}
                    ${!a.pool?.lastError && !a.pool?.drift.length && !a.pool?.lostVms.length ? html`<span class="sub">none</span>` : nothing}
                  </td>
                </tr>`,
              )}
            </tbody>
          </table>
        </div>
      </section>
    `;
  }
}
