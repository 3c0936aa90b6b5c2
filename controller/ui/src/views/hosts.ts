/** Every registered host: aggregate, membership, role, liveness, enabled, maintenance, memory. */
import { html, nothing } from "lit-html";
import { repeat } from "lit-html/directives/repeat.js";
import type { Host } from "../../../../gen/hostaggregates/v1/host_pb.js";
import { allPages } from "../api.js";
import { bytes, enabledBadge, livenessBadge, maintenanceBadge, membershipBadge, roleLabel } from "../format.js";
import { View } from "../view.js";

export class HostsView extends View {
  private hosts: Host[] = [];

  title(): string {
    return "Hosts";
  }

  protected override head() {
    return { text: "Hosts", sub: "Registered compute hosts. Hosts register disabled and are enabled when they join an aggregate." };
  }

  start(): void {
    this.keepFresh(async () => {
      this.hosts = await allPages(async (pageToken) => {
        const r = await this.ctx.api.hosts.listHosts({ pageToken, pageSize: 1000 }, { signal: this.signal });
        return { items: r.hosts, next: r.nextPageToken };
      });
    });
  }

  protected template() {
    return html`
      ${this.loadStatus()}
      <div class="table-wrap">
        <table class="hosts">
          <thead>
            <tr>
              <th scope="col">Host</th>
              <th scope="col">Aggregate</th>
              <th scope="col">Role</th>
              <th scope="col">Liveness</th>
              <th scope="col">Enabled</th>
              <th scope="col">Maintenance</th>
              <th scope="col">Memory free</th>
              <th scope="col">Running VMs</th>
            </tr>
          </thead>
          <tbody>
            ${this.hosts.length === 0 && this.loaded ? html`<tr><td colspan="8" class="empty">No host has registered yet.</td></tr>` : nothing}
            ${repeat(
              this.hosts,
              (h) => h.name,
              (h) => html`<tr data-host=${h.name}>
                <th scope="row"><a href="#/hosts/${h.name}">${h.name}</a></th>
                <td>${h.aggregateId ? html`<a href="#/aggregates/${h.aggregateId}">${h.aggregateId}</a> ${membershipBadge(h.membership)}` : "-"}</td>
                <td>${roleLabel(h.role)}</td>
                <td>${livenessBadge(h.liveness)}</td>
                <td>${enabledBadge(h.enabled)}</td>
                <td>${maintenanceBadge(h.maintenance)}</td>
                <td>${h.capacity ? html`${bytes(h.capacity.memoryFreeBytes)} <span class="sub">of ${bytes(h.capacity.memoryTotalBytes)}</span>` : "-"}</td>
                <td>${h.capacity?.runningVms ?? "-"}</td>
              </tr>`,
            )}
          </tbody>
        </table>
      </div>
    `;
  }
}
