/**
 * The console's entry: sign-in with an admin token (kept in sessionStorage, so it ends with the tab),
 * the page shell, and the hash router (#/aggregates/3, #/hosts/xs1, #/operations/ID, #/events).
 */
import { html, nothing, render } from "lit-html";
import type { ConnectError } from "@connectrpc/connect";
import { createApi, describeProblem, type Api, type ApiProblem } from "./api.js";
import { LiveEvents } from "./live-events.js";
import { View, formValues, problemBox, submitted, type ViewContext } from "./view.js";
import { AggregateView } from "./views/aggregate.js";
import { EventsView } from "./views/events.js";
import { HostView } from "./views/host.js";
import { HostsView } from "./views/hosts.js";
import { OperationView } from "./views/operation.js";
import { OperationsView } from "./views/operations.js";
import { OverviewView } from "./views/overview.js";

const tokenKey = "hostaggregates.console.token";
const app = document.getElementById("app")!;

/** Which view a hash route shows. */
function viewFor(route: string, ctx: ViewContext, container: HTMLElement): View {
  const [section, id] = route.replace(/^#\/?/, "").split("/").map((s) => decodeURIComponent(s));
  switch (section) {
    case "":
    case "aggregates":
      return id ? new AggregateView(ctx, container, id) : new OverviewView(ctx, container);
    case "hosts":
      return id ? new HostView(ctx, container, id) : new HostsView(ctx, container);
    case "operations":
      return id ? new OperationView(ctx, container, id) : new OperationsView(ctx, container);
    case "events":
      return new EventsView(ctx, container);
    default:
      return new NotFoundView(ctx, container);
  }
}

class NotFoundView extends View {
  title(): string {
    return "Not found";
  }
  start(): void {
    this.update();
  }
  protected template() {
    return html`<p>No such page. <a href="#/">Go to the aggregates overview</a>.</p>`;
  }
}

const nav: [string, string][] = [
  ["#/", "Aggregates"],
  ["#/hosts", "Hosts"],
  ["#/operations", "Operations"],
  ["#/events", "Events"],
];

/** The signed-in console. */
class Console {
  private readonly api: Api;
  private readonly live: LiveEvents;
  private view?: View;
  private status = "";
  private readonly onHashChange = () => this.route();

  constructor(
    token: string,
    private readonly signOut: (problem?: ApiProblem) => void,
  ) {
    this.api = createApi(token, (err: ConnectError) => this.signOut(describeProblem(err)));
    this.live = new LiveEvents(this.api);
    this.live.onStatus(() => this.renderShell());
  }

  start(): void {
    window.addEventListener("hashchange", this.onHashChange);
    void this.live.start();
    this.route();
  }

  stop(): void {
    window.removeEventListener("hashchange", this.onHashChange);
    this.view?.stop();
    this.live.stop();
  }

  private section(): string {
    const s = window.location.hash.replace(/^#\/?/, "").split("/")[0] ?? "";
    return s === "aggregates" ? "" : s;
  }

  private renderShell(): void {
    const current = this.section();
    const liveText = { connecting: "connecting…", live: "live", reconnecting: "reconnecting…" }[this.live.status];
    render(
      html`<a class="skip" href="#main" @click=${(e: Event) => {
          e.preventDefault();
          document.getElementById("main")?.focus();
        }}>Skip to content</a>
        <header class="top">
          <a class="brand" href="#/">host-aggregates</a>
          <nav aria-label="main">
            <ul>
              ${nav.map(([href, text]) => {
                const section = href.replace(/^#\/?/, "");
                return html`<li><a href=${href} aria-current=${section === current ? "page" : "false"}>${text}</a></li>`;
              })}
            </ul>
          </nav>
          <span class="live-status ${this.live.status}" title="the event stream (WatchEvents)">events: ${liveText}</span>
          <button type="button" class="quiet" @click=${() => this.signOut()}>Sign out</button>
        </header>
        <main id="main" tabindex="-1"><div id="view"></div></main>
        <p class="visually-hidden" role="status" aria-live="polite">${this.status}</p>`,
      app,
    );
  }

  private route(): void {
    this.view?.stop();
    this.renderShell();
    const container = document.getElementById("view")!;
    // A fresh container per page: lit-html keeps no state from the previous view.
    const fresh = document.createElement("div");
    container.replaceChildren(fresh);
    const ctx: ViewContext = {
      api: this.api,
      live: this.live,
      navigate: (r) => {
        if (window.location.hash === r) this.route();
        else window.location.hash = r;
      },
      announce: (message) => {
        this.status = message;
        this.renderShell();
      },
    };
    const view = viewFor(window.location.hash, ctx, fresh);
    this.view = view;
    document.title = `${view.title()} — host-aggregates`;
    view.update();
    view.start();
    // Move focus to the new page's heading, as a page load would (screen readers announce it).
    queueMicrotask(() => queueMicrotask(() => fresh.querySelector<HTMLElement>("h1")?.focus({ preventScroll: false })));
  }
}

/** The sign-in page. */
function showSignIn(problem?: ApiProblem, notice?: string): void {
  document.title = "Sign in — host-aggregates";
  let busy = false;
  let current = problem;
  const draw = () =>
    render(
      html`<main class="signin" id="main">
        <h1>host-aggregates console</h1>
        <p>Sign in with an admin token. The sandbox prints one (also in <code>.sandbox/admin-token</code>); the controller reads them from <code>--tokens-file</code>.</p>
        ${notice ? html`<p class="warning" role="status">${notice}</p>` : nothing}
        <form @submit=${(e: SubmitEvent) => void signIn(submitted(e))}>
          <label for="token">Admin token</label>
          <input id="token" name="token" type="password" autocomplete="off" spellcheck="false" required />
          <button type="submit" class="primary" ?disabled=${busy}>${busy ? "Signing in…" : "Sign in"}</button>
        </form>
        ${problemBox(current, "The controller refused the token")}
        <p class="sub">The token stays in this tab's session storage and is sent only to this controller.</p>
      </main>`,
      app,
    );
  const signIn = async (form: HTMLFormElement) => {
    const token = (formValues(form).token ?? "").trim();
    busy = true;
    current = undefined;
    draw();
    try {
      // Any admin call proves the token; the smallest list will do.
      await createApi(token, () => undefined).aggregates.listAggregates({ pageSize: 1 });
      sessionStorage.setItem(tokenKey, token);
      startConsole(token);
    } catch (err) {
      busy = false;
      current = describeProblem(err);
      draw();
      document.getElementById("token")?.focus();
    }
  };
  draw();
  document.getElementById("token")?.focus();
}

let running: Console | undefined;

function startConsole(token: string): void {
  running?.stop();
  const signedIn: Console = new Console(token, (problem) => {
    // Several calls in flight may be refused at once: sign out once.
    if (running !== signedIn) return;
    sessionStorage.removeItem(tokenKey);
    signedIn.stop();
    running = undefined;
    showSignIn(problem, problem ? "Your session ended: the controller no longer accepts the token." : "Signed out.");
  });
  running = signedIn;
  signedIn.start();
}

const saved = sessionStorage.getItem(tokenKey);
if (saved) startConsole(saved);
else showSignIn();
