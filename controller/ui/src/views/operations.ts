/** Every operation, newest first, live; filter by state. */
import { html, nothing } from "lit-html";
import { OperationState, type Operation } from "../../../../gen/hostaggregates/v1/operation_pb.js";
import { View } from "../view.js";
import { operationsTableOf } from "./aggregate.js";

const states = [OperationState.PENDING, OperationState.RUNNING, OperationState.SUCCEEDED, OperationState.FAILED, OperationState.CANCELLED];

export class OperationsView extends View {
  private operations: Operation[] = [];
  private state = OperationState.UNSPECIFIED;
  private pageSize = 50;
  private more = false;

  title(): string {
    return "Operations";
  }

  protected override head() {
    return { text: "Operations", sub: "Long-running changes: add and remove host, maintenance, master recovery. Newest first, updated live." };
  }

  start(): void {
    this.keepFresh(
      async () => {
        const r = await this.ctx.api.operations.listOperations({ state: this.state, pageSize: this.pageSize }, { signal: this.signal });
        this.operations = r.operations;
        this.more = r.nextPageToken !== "";
      },
      (e) => e.operationId !== "",
    );
  }

  private reload(): void {
    // keepFresh's interval and events pick the new filter up; load at once too.
    void this.ctx.api.operations
      .listOperations({ state: this.state, pageSize: this.pageSize }, { signal: this.signal })
      .then((r) => {
        this.operations = r.operations;
        this.more = r.nextPageToken !== "";
        this.update();
      })
      .catch(() => undefined);
  }

  protected template() {
    return html`
      ${this.loadStatus()}
      <div class="section-head">
        <label
          >State
          <select
            @change=${(e: Event) => {
              this.state = Number((e.target as HTMLSelectElement).value) as OperationState;
              this.reload();
            }}
          >
            <option value="0" ?selected=${this.state === OperationState.UNSPECIFIED}>any</option>
            ${states.map((s) => html`<option value=${s} ?selected=${s === this.state}>${OperationState[s]}</option>`)}
          </select>
        </label>
      </div>
      ${this.operations.length === 0 && this.loaded ? html`<p class="sub">No operations${this.state ? ` in state ${OperationState[this.state]}` : ""}.</p>` : operationsTableOf(this.operations, true)}
      ${this.more
        ? html`<button
            type="button"
            @click=${() => {
              this.pageSize = Math.min(this.pageSize * 2, 1000);
              this.reload();
            }}
          >
            Show more
          </button>`
        : nothing}
    `;
  }
}
