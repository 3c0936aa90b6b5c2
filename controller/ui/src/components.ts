/** Pieces several pages use: modal dialogs, following an operation live, operation summaries. */
import { html, nothing, render, type TemplateResult } from "lit-html";
import { OperationState, StepState, VmMoveState, type EvacuationDetail, type Operation } from "../../../gen/hostaggregates/v1/operation_pb.js";
import { hasEnded } from "../../../cli/wait-operation.js";
import { isAbort, type Api } from "./api.js";
import { bytes, kindLabel, moveStateBadge, operationStateBadge, progressBar, xapiText } from "./format.js";

export { hasEnded };

/**
 * A modal <dialog> (focus stays inside, Escape cancels). `body` gets `close(value)`; the promise
 * resolves with that value, or undefined when cancelled.
 */
export function modal<T>(title: string, body: (close: (value: T | undefined) => void) => TemplateResult): Promise<T | undefined> {
  return new Promise((resolve) => {
    const dialog = document.createElement("dialog");
    dialog.setAttribute("aria-labelledby", "modal-title");
    document.body.append(dialog);
    const opener = document.activeElement as HTMLElement | null;
    let result: T | undefined;
    const close = (value: T | undefined) => {
      result = value;
      dialog.close();
    };
    dialog.addEventListener("close", () => {
      dialog.remove();
      opener?.focus();
      resolve(result);
    });
    render(html`<h2 id="modal-title">${title}</h2>${body(close)}`, dialog);
    dialog.showModal();
    dialog.querySelector<HTMLElement>("[autofocus]")?.focus();
  });
}

/** Asks before doing something; Cancel has the focus, so Enter alone never confirms. */
export async function confirm(title: string, message: TemplateResult | string, confirmLabel: string, danger = false): Promise<boolean> {
  const answer = await modal<boolean>(
    title,
    (close) => html`<div class="dialog-body">${message}</div>
      <div class="buttons">
        <button type="button" autofocus @click=${() => close(false)}>Cancel</button>
        <button type="button" class=${danger ? "danger" : "primary"} @click=${() => close(true)}>${confirmLabel}</button>
      </div>`,
  );
  return answer === true;
}

/**
 * Follows one operation: WatchOperation (server streaming) while it runs; when the stream breaks
 * (e.g. the controller restarts) it reads the operation again and resumes watching.
 */
export class OperationFollower {
  op?: Operation;
  /** Why the last attempt to follow failed, while it retries. */
  trouble?: string;

  constructor(
    private readonly api: Api,
    readonly id: string,
    private readonly signal: AbortSignal,
    private readonly onChange: (op: Operation) => void,
    initial?: Operation,
  ) {
    this.op = initial;
  }

  async run(): Promise<Operation | undefined> {
    let delayMs = 500;
    while (!this.signal.aborted) {
      try {
        for await (const op of this.api.operations.watchOperation({ id: this.id }, { signal: this.signal })) {
          this.trouble = undefined;
          this.op = op;
          this.onChange(op);
        }
        if (this.op && hasEnded(this.op)) return this.op;
        // The stream ended without the end: read it once (it may have ended meanwhile).
        this.op = await this.api.operations.getOperation({ id: this.id }, { signal: this.signal });
        this.onChange(this.op);
        if (hasEnded(this.op)) return this.op;
      } catch (err) {
        if (this.signal.aborted || isAbort(err)) return this.op;
        this.trouble = err instanceof Error ? err.message : String(err);
        if (this.op) this.onChange(this.op);
      }
      await new Promise((r) => setTimeout(r, delayMs)); // back-off before watching again
      delayMs = Math.min(delayMs * 2, 5000);
    }
    return this.op;
  }
}

/** The running step of an operation, as one line. */
export function currentStep(op: Operation): string {
  const running = op.steps.find((s) => s.state === StepState.RUNNING);
  if (running) return `${running.name}${running.detail ? `: ${running.detail}` : ""}`;
  if (op.state === OperationState.PENDING) return "waiting for its turn on the aggregate";
  const last = [...op.steps].reverse().find((s) => s.state !== StepState.PENDING);
  return last ? `${last.name}${last.detail ? `: ${last.detail}` : ""}` : "";
}

/** A compact, live card for an operation a page started or is showing. */
export function operationCard(op: Operation, trouble?: string): TemplateResult {
  return html`<section class="op-card" aria-label="operation ${op.id}" data-operation=${op.id}>
    <p>
      <a href="#/operations/${op.id}">${kindLabel(op.kind)} ${op.host}</a>
      <span class="op-state">${operationStateBadge(op.state)}</span>
      ${progressBar(op.progress, `progress of ${op.id}`)}
    </p>
    <p class="sub">${currentStep(op)}</p>
    ${op.evacuation && op.evacuation.vmsTotal > 0 ? html`<p class="sub">VMs moved ${op.evacuation.vmsMoved} of ${op.evacuation.vmsTotal}</p>` : nothing}
    ${op.error ? html`<p class="problem-inline" role="alert">${op.error.code}: ${op.error.message} ${xapiText(op.error.xapiCode, op.error.xapiParams)}</p>` : nothing}
    ${trouble ? html`<p class="hint">Lost the live view (${trouble}); reconnecting…</p>` : nothing}
  </section>`;
}

/** An evacuation's moves and blockers (a dry-run plan, or a running maintenance). */
export function evacuationTables(ev: EvacuationDetail, live: boolean): TemplateResult {
  const moves = ev.moves;
  return html`
    <div class="table-wrap">
      <table class="plan">
        <caption>
          ${live ? "VM moves" : "Planned VM moves"} (${moves.length}${ev.maxParallel ? `, at most ${ev.maxParallel} at once` : ""})
        </caption>
        <thead>
          <tr>
            <th scope="col">VM</th>
            <th scope="col">Memory</th>
            <th scope="col">From</th>
            <th scope="col">To</th>
            ${live ? html`<th scope="col">State</th><th scope="col">Progress</th><th scope="col">Attempts</th>` : nothing}
          </tr>
        </thead>
        <tbody>
          ${moves.length === 0
            ? html`<tr><td colspan=${live ? 7 : 4} class="empty">No running VM has to move.</td></tr>`
            : moves.map(
                (m) => html`<tr>
                  <th scope="row">${m.vmName} <span class="uuid">${m.vmUuid}</span></th>
                  <td>${bytes(m.memoryBytes)}</td>
                  <td>${m.fromHost}</td>
                  <td>${m.toHost || "-"}</td>
                  ${live
                    ? html`<td>${moveStateBadge(m.state)}${m.error ? html` <span class="problem-inline">${m.error}</span>` : nothing}</td>
                        <td>${m.state === VmMoveState.MIGRATING || m.state === VmMoveState.DONE ? progressBar(m.progress, `migration of ${m.vmName}`) : "-"}</td>
                        <td>${m.attempts}</td>`
                    : nothing}
                </tr>`,
              )}
        </tbody>
      </table>
    </div>
    ${ev.blockers.length
      ? html`<div class="table-wrap">
          <table class="blockers">
            <caption>
              Blockers: VMs that cannot move (${ev.blockers.length})
            </caption>
            <thead>
              <tr>
                <th scope="col">VM</th>
                <th scope="col">Reason</th>
                <th scope="col">XenAPI</th>
              </tr>
            </thead>
            <tbody>
              ${ev.blockers.map(
                (b) => html`<tr>
                  <th scope="row">${b.vmName} <span class="uuid">${b.vmUuid}</span></th>
                  <td>${b.reason}</td>
                  <td>${b.xapiCode ? html`<code>${b.xapiCode}</code>${b.xapiParams.length ? ` [${b.xapiParams.join(", ")}]` : ""}` : "-"}</td>
                </tr>`,
              )}
            </tbody>
          </table>
        </div>`
      : html`<p class="sub">No blockers.</p>`}
  `;
}
