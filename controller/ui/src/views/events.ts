/** The event feed: recent events, then new ones live as they happen (WatchEvents). */
import { html, nothing } from "lit-html";
import { repeat } from "lit-html/directives/repeat.js";
import type { Event as ApiEvent } from "../../../../gen/hostaggregates/v1/event_pb.js";
import { when } from "../format.js";
import { View } from "../view.js";

const keep = 500;

export class EventsView extends View {
  private events: ApiEvent[] = [];
  private paused = false;
  private held: ApiEvent[] = [];
  private aggregateFilter = "";

  title(): string {
    return "Events";
  }

  protected override head() {
    return { text: "Events", sub: "Operation steps, membership changes, drift and master failures, newest first." };
  }

  start(): void {
    const unsubscribe = this.ctx.live.subscribe((e) => {
      if (this.paused) this.held.push(e);
      else this.add([e]);
    });
    this.signal.addEventListener("abort", unsubscribe);
    void this.ctx.api.events
      .listEvents({ pageSize: 100 }, { signal: this.signal })
      .then((r) => {
        this.loaded = true;
        this.add(r.events);
      })
      .catch(() => {
        this.loaded = true;
        this.update();
      });
  }

  /** Merges events by id, newest first. */
  private add(events: ApiEvent[]): void {
    const byId = new Map(this.events.map((e) => [e.id, e]));
    for (const e of events) byId.set(e.id, e);
    this.events = [...byId.values()].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)).slice(0, keep);
    this.update();
  }

  private togglePause(): void {
    this.paused = !this.paused;
    if (!this.paused) {
      this.add(this.held);
      this.held = [];
    }
    this.update();
  }

  protected template() {
    const shown = this.aggregateFilter === "" ? this.events : this.events.filter((e) => String(e.aggregateId) === this.aggregateFilter);
    const aggregates = [...new Set(this.events.map((e) => e.aggregateId).filter((id) => id !== 0n))].sort((a, b) => (a < b ? -1 : 1));
    const status = this.ctx.live.status;
    return html`
      ${this.loadStatus()}
      <div class="section-head">
        <p class="sub">Feed: <span class="live-status ${status}">${this.paused ? `paused (${this.held.length} new)` : status}</span></p>
        <label
          >Aggregate
          <select
            @change=${(e: Event) => {
              this.aggregateFilter = (e.target as HTMLSelectElement).value;
              this.update();
            }}
          >
            <option value="">all</option>
            ${aggregates.map((id) => html`<option value=${String(id)} ?selected=${String(id) === this.aggregateFilter}>${id}</option>`)}
          </select>
        </label>
        <button type="button" @click=${() => this.togglePause()} aria-pressed=${this.paused ? "true" : "false"}>${this.paused ? "Resume" : "Pause"}</button>
      </div>
      <div class="table-wrap">
        <table class="events">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Kind</th>
              <th scope="col">Aggregate</th>
              <th scope="col">Host</th>
              <th scope="col">Operation</th>
              <th scope="col">Message</th>
            </tr>
          </thead>
          <tbody>
            ${shown.length === 0 && this.loaded ? html`<tr><td colspan="6" class="empty">No events yet.</td></tr>` : nothing}
            ${repeat(
              shown,
              (e) => e.id,
              (e) => html`<tr data-event=${String(e.id)}>
                <td>${when(e.time)}</td>
                <td><code>${e.kind}</code></td>
                <td>${e.aggregateId ? html`<a href="#/aggregates/${e.aggregateId}">${e.aggregateId}</a>` : "-"}</td>
                <td>${e.host ? html`<a href="#/hosts/${e.host}">${e.host}</a>` : "-"}</td>
                <td>${e.operationId ? html`<a href="#/operations/${e.operationId}">${e.operationId}</a>` : "-"}</td>
                <td>${e.message}</td>
              </tr>`,
            )}
          </tbody>
        </table>
      </div>
    `;
  }
}
