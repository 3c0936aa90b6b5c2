/** One operation, live (WatchOperation): state, progress, steps, error, the evacuation's moves; cancel. */
import { html, nothing, type TemplateResult } from "lit-html";
import { OperationState, type Operation } from "../../../../gen/hostaggregates/v1/operation_pb.js";
import { describeProblem } from "../api.js";
import { OperationFollower, confirm, currentStep, evacuationTables, hasEnded } from "../components.js";
import { kindLabel, label, operationStateBadge, progressBar, stepStateBadge, when, xapiText } from "../format.js";
import { View, type ViewContext } from "../view.js";

export class OperationView extends View {
  private follower: OperationFollower;

  constructor(
    ctx: ViewContext,
    container: HTMLElement,
    private readonly id: string,
  ) {
    super(ctx, container);
    this.follower = new OperationFollower(ctx.api, id, this.signal, (op) => {
      this.loaded = true;
      this.loadProblem = undefined;
      document.title = `${this.title()} — host-aggregates`;
      this.announceEnd(op);
      this.update();
    });
  }

  private announced = false;
  private aggregateName = "";
  private announceEnd(op: Operation): void {
    if (this.announced || !hasEnded(op)) return;
    this.announced = true;
    this.ctx.announce(`Operation ${op.id} ${label(OperationState, op.state)}`);
  }

  title(): string {
    const op = this.follower.op;
    return op ? `${kindLabel(op.kind)} ${op.host} (${op.id})` : `Operation ${this.id}`;
  }

  protected override head() {
    const op = this.follower.op;
    return op ? { text: `${kindLabel(op.kind)} ${op.host}`, sub: html`Operation <code>${op.id}</code> · ${op.target}` } : { text: `Operation ${this.id}` };
  }

  start(): void {
    // A missing operation is the API's NOT_FOUND: show it, then follow (the stream answers the same).
    void this.ctx.api.operations
      .getOperation({ id: this.id }, { signal: this.signal })
      .then(async (op) => {
        this.follower.op ??= op;
        if (op.aggregateId) this.aggregateName = (await this.ctx.api.aggregates.getAggregate({ id: op.aggregateId }, { signal: this.signal }).catch(() => undefined))?.name ?? "";
        this.loaded = true;
        this.update();
        return this.follower.run();
      })
      .catch((err: unknown) => {
        this.loadProblem = describeProblem(err);
        this.update();
      });
  }

  private async cancel(op: Operation): Promise<void> {
    const ok = await confirm(`Cancel ${op.id}?`, html`<p>Running steps finish; no new step starts. A step that already changed the pool is not undone.</p>`, "Cancel operation", true);
    if (!ok) return;
    await this.act("cancel", async () => {
      await this.ctx.api.operations.cancelOperation({ id: op.id });
      return `Cancellation of ${op.id} requested.`;
    });
  }

  protected template(): TemplateResult {
    const op = this.follower.op;
    if (!op) return html`${this.loadStatus()}`;
    const ended = hasEnded(op);
    return html`
      ${this.loadStatus()}
      <section class="panel" aria-labelledby="state-title">
        <h2 id="state-title">State</h2>
        <p class="op-status" aria-live="polite">
          <span class="op-state">${operationStateBadge(op.state)}</span> ${progressBar(op.progress, "progress")}
          ${!ended ? html`<span class="sub">${currentStep(op)}</span>` : nothing}
        </p>
        ${this.follower.trouble ? html`<p class="hint">Lost the live view (${this.follower.trouble}); reconnecting…</p>` : nothing}
        <dl class="facts">
          <div><dt>Aggregate</dt><dd>${op.aggregateId ? html`<a href="#/aggregates/${op.aggregateId}">${this.aggregateName || op.aggregateId}</a>` : "-"}</dd></div>
          <div><dt>Host</dt><dd>${op.host ? html`<a href="#/hosts/${op.host}">${op.host}</a>` : "-"}</dd></div>
          <div><dt>Accepted</dt><dd>${when(op.createdAt)}</dd></div>
          <div><dt>Last change</dt><dd>${when(op.updatedAt)}</dd></div>
          <div><dt>Ended</dt><dd>${when(op.finishedAt)}</dd></div>
          <div><dt>Cancel requested</dt><dd>${op.cancelRequested ? "yes" : "no"}</dd></div>
        </dl>
        ${op.error
          ? html`<div class="problem" role="alert">
              <p><strong>${op.error.code}:</strong> ${op.error.message} ${xapiText(op.error.xapiCode, op.error.xapiParams)}</p>
            </div>`
          : nothing}
        ${!ended
          ? html`<button type="button" class="danger" @click=${() => void this.cancel(op)} ?disabled=${this.busy("cancel") || op.cancelRequested}>
              ${op.cancelRequested ? "Cancellation requested" : "Cancel operation…"}
            </button>`
          : nothing}
        ${this.outcome("cancel")}
      </section>
      <section aria-labelledby="steps-title">
        <h2 id="steps-title">Steps</h2>
        ${op.steps.length === 0
          ? html`<p class="sub">The steps are planned when the operation starts.</p>`
          : html`<div class="table-wrap">
              <table class="steps">
                <thead>
                  <tr>
                    <th scope="col">#</th>
                    <th scope="col">Step</th>
                    <th scope="col">State</th>
                    <th scope="col">Detail</th>
                    <th scope="col">Started</th>
                    <th scope="col">Ended</th>
                  </tr>
                </thead>
                <tbody>
                  ${op.steps.map(
                    (s, i) => html`<tr>
                      <td>${i + 1}</td>
                      <th scope="row"><code>${s.name}</code></th>
                      <td>${stepStateBadge(s.state)}</td>
                      <td>${s.detail || "-"}</td>
                      <td>${when(s.startedAt)}</td>
                      <td>${when(s.finishedAt)}</td>
                    </tr>`,
                  )}
                </tbody>
              </table>
            </div>`}
      </section>
      ${op.evacuation
        ? html`<section aria-labelledby="evacuation-title">
            <h2 id="evacuation-title">Evacuation</h2>
            <p>VMs moved ${op.evacuation.vmsMoved} of ${op.evacuation.vmsTotal}${op.evacuation.maxParallel ? `, at most ${op.evacuation.maxParallel} at once` : ""}.</p>
            ${evacuationTables(op.evacuation, true)}
          </section>`
        : nothing}
    `;
  }
}
