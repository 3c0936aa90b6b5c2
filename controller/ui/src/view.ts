/**
 * What every page of the console shares: rendering with lit-html (which updates only what changed,
 * so focus and typed input survive live refreshes), loading with live refresh, and actions whose
 * outcome (the API's error message, or what was done) is shown beside them.
 */
import { html, nothing, render, type TemplateResult } from "lit-html";
import type { Event } from "../../../gen/hostaggregates/v1/event_pb.js";
import { describeProblem, isAbort, type Api, type ApiProblem } from "./api.js";
import type { LiveEvents } from "./live-events.js";

/** What a view gets from the app. */
export interface ViewContext {
  api: Api;
  live: LiveEvents;
  /** Goes to a hash route, e.g. "#/aggregates/3". */
  navigate(route: string): void;
  /** Says something to screen readers (and shows it in the status line). */
  announce(message: string): void;
}

/** The outcome of one action on a page. */
interface ActionState {
  busy: boolean;
  problem?: ApiProblem;
  done?: string;
}

/** The API's refusal: code, message, field violations, XenAPI error. */
export function problemBox(problem: ApiProblem | undefined, what = "The request was refused"): TemplateResult | typeof nothing {
  if (!problem) return nothing;
  return html`<div class="problem" role="alert">
    <p><strong>${what}${problem.code ? html` (<code>${problem.code}</code>)` : nothing}:</strong> <span class="problem-message">${problem.message}</span></p>
    ${problem.violations.length
      ? html`<ul>
          ${problem.violations.map((v) => html`<li><code>${v.field}</code>: ${v.description}</li>`)}
        </ul>`
      : nothing}
    ${problem.xapi ? html`<p>XenAPI: <code>${problem.xapi.code}</code>${problem.xapi.params.length ? ` [${problem.xapi.params.join(", ")}]` : ""}</p>` : nothing}
    ${problem.hint ? html`<p class="hint">${problem.hint}</p>` : nothing}
  </div>`;
}

export abstract class View {
  /** Aborted when the page is left: streams and refresh timers stop. */
  protected readonly signal: AbortSignal;
  private readonly abort = new AbortController();
  private readonly actions = new Map<string, ActionState>();
  private renderQueued = false;
  private focusNext?: string;
  /** Why the last load failed (the page keeps showing what it had). */
  protected loadProblem?: ApiProblem;
  protected loaded = false;

  constructor(
    protected readonly ctx: ViewContext,
    private readonly container: HTMLElement,
  ) {
    this.signal = this.abort.signal;
  }

  /** The page's title (browser tab, and the heading unless head() says otherwise). */
  abstract title(): string;
  /** The page below its heading. */
  protected abstract template(): TemplateResult;
  /** The page heading and the line under it. */
  protected head(): { text: string | TemplateResult; sub?: string | TemplateResult } {
    return { text: this.title() };
  }
  /** Starts loading; called once after the view is shown. */
  abstract start(): void;

  stop(): void {
    this.abort.abort();
  }

  /** Re-renders on the next microtask (several changes make one render). */
  update(): void {
    if (this.renderQueued || this.signal.aborted) return;
    this.renderQueued = true;
    queueMicrotask(() => {
      this.renderQueued = false;
      if (this.signal.aborted) return;
      // One outer template for every state of the page, so the heading element (which has the
      // focus after navigation) stays the same element while the page loads and refreshes.
      const head = this.head();
      render(
        html`<header class="page-head">
            <h1 tabindex="-1">${head.text}</h1>
            ${head.sub ? html`<p class="sub">${head.sub}</p>` : nothing}
          </header>
          ${this.template()}`,
        this.container,
      );
      if (this.focusNext) {
        const target = this.container.querySelector<HTMLElement>(this.focusNext);
        if (target) {
          this.focusNext = undefined;
          target.focus();
        }
      }
    });
  }

  /**
   * Moves the focus to the first element matching `selector` once a render shows it — for when the
   * control that had the focus goes away (a confirmed plan, a form replaced by progress).
   */
  protected focusAfterRender(selector: string): void {
    this.focusNext = selector;
    this.update();
  }

  /** "Loading…" before the first load, the load's problem after a failed one. */
  protected loadStatus(): TemplateResult | typeof nothing {
    if (this.loadProblem) return problemBox(this.loadProblem, this.loaded ? "Could not refresh" : "Could not load");
    if (!this.loaded) return html`<p class="loading" role="status">Loading…</p>`;
    return nothing;
  }

  /**
   * Runs `load` now, again whenever an event passes `relevant` (coalesced), and every `intervalMs`
   * (heartbeat-driven fields such as liveness change without events).
   */
  protected keepFresh(load: () => Promise<void>, relevant: (e: Event) => boolean = () => true, intervalMs = 5000): void {
    let running = false;
    let again = false;
    const run = async () => {
      if (this.signal.aborted) return;
      if (running) {
        again = true;
        return;
      }
      running = true;
      try {
        await load();
        this.loaded = true;
        this.loadProblem = undefined;
      } catch (err) {
        if (!isAbort(err) && !this.signal.aborted) this.loadProblem = describeProblem(err);
      } finally {
        running = false;
        this.update();
      }
      if (again) {
        again = false;
        void run();
      }
    };
    let pending: ReturnType<typeof setTimeout> | undefined;
    const unsubscribe = this.ctx.live.subscribe((e) => {
      if (!relevant(e) || pending) return;
      pending = setTimeout(() => {
        pending = undefined;
        void run();
      }, 150);
    });
    const timer = setInterval(() => void run(), intervalMs);
    this.signal.addEventListener("abort", () => {
      unsubscribe();
      clearInterval(timer);
      if (pending) clearTimeout(pending);
    });
    void run();
  }

  /** True while the action runs. */
  protected busy(key: string): boolean {
    return this.actions.get(key)?.busy ?? false;
  }

  /** The outcome of an action: the API's refusal, or what it did. */
  protected outcome(key: string): TemplateResult | typeof nothing {
    const a = this.actions.get(key);
    if (!a) return nothing;
    if (a.problem) return problemBox(a.problem);
    if (a.done) return html`<p class="done" role="status">${a.done}</p>`;
    return nothing;
  }

  /** Forgets an action's outcome. */
  protected clearOutcome(key: string): void {
    this.actions.delete(key);
    this.update();
  }

  /**
   * Runs an action: marks it busy, then records what `fn` reports as done (announced) or the API's
   * refusal. Resolves to true when it succeeded.
   */
  protected async act(key: string, fn: () => Promise<string | void>): Promise<boolean> {
    if (this.busy(key)) return false;
    this.actions.set(key, { busy: true });
    this.update();
    try {
      const done = await fn();
      this.actions.set(key, { busy: false, done: done || undefined });
      if (done) this.ctx.announce(done);
      return true;
    } catch (err) {
      if (isAbort(err)) return false;
      this.actions.set(key, { busy: false, problem: describeProblem(err) });
      return false;
    } finally {
      this.update();
    }
  }
}

/** The values of a form's named fields. */
export function formValues(form: HTMLFormElement): Record<string, string> {
  const out: Record<string, string> = {};
  new FormData(form).forEach((v, k) => {
    if (typeof v === "string") out[k] = v;
  });
  return out;
}

/** The form of a submit event, with the browser's navigation stopped. */
export function submitted(e: SubmitEvent): HTMLFormElement {
  e.preventDefault();
  return e.currentTarget as HTMLFormElement;
}
