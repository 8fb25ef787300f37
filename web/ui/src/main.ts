import "./style.css";
import { h, replace } from "./dom";
import { languages, lang, setLang, t, type Lang } from "./i18n";
import { onUnauthenticated } from "./api";
import * as session from "./session";
import { route, otherwise, dispatch, listen, go } from "./router";
import { signInView } from "./views/signin";
import { screenView } from "./views/screen";
import { addressView } from "./views/address";
import { alertsView } from "./views/alerts";
import { intelView } from "./views/intel";
import { casesView, caseView } from "./views/cases";
import { startEvents, stopEvents } from "./events";

const app = document.getElementById("app") as HTMLElement;
let expiredNotice = false;

// layout draws the frame around every view: navigation by role (what the
// key cannot do is not shown), language, who is signed in.
function layout(): void {
  const who = session.current();
  const nav: HTMLElement[] = [];
  const link = (href: string, label: string) => h("a", { href, class: location.pathname.startsWith(href) ? "active" : "" }, label);
  if (session.can("screen")) nav.push(link("/screen", t("nav.screen")));
  if (session.can("trace")) {
    nav.push(link("/trace", t("nav.trace")), link("/alerts", t("nav.alerts")), link("/cases", t("nav.cases")));
  }
  if (session.can("screen") || session.can("trace")) nav.push(link("/intel", t("nav.intel")));
  const select = h(
    "select",
    { attrs: { "aria-label": t("nav.language") }, on: { change: () => { setLang(select.value as Lang); render(); } } },
    languages.map((l) => h("option", { value: l.lang, selected: l.lang === lang() }, l.name)),
  );
  replace(
    app,
    h(
      "header",
      { class: "top" },
      h("a", { href: "/", class: "brand" }, t("app.name")),
      h("nav", null, nav),
      h("div", { class: "who" },
        select,
        who ? h("span", { class: "name", title: t("who.clearance", { tlp: who.clearance }) }, who.name, " · ", who.clearance) : null,
        who ? h("button", { type: "button", class: "link", on: { click: async () => { await session.signOut(); stopEvents(); go("/signin"); } } }, t("nav.signout")) : null,
        h("span", { id: "live", class: "live" }),
      ),
    ),
    h("main", { id: "main" }),
    h("div", { id: "toasts", class: "toasts" }),
  );
}

function render(): void {
  layout();
  dispatch();
}

// guard runs a view only for a signed-in key that holds role.
function guarded(role: string | null, fn: (p: Record<string, string>, q: URLSearchParams) => void | Promise<void>) {
  return (p: Record<string, string>, q: URLSearchParams) => {
    if (!session.current()) {
      go("/signin?next=" + encodeURIComponent(location.pathname + location.search), true);
      return;
    }
    layout();
    if (role && !session.can(role)) {
      go("/", true);
      return;
    }
    return fn(p, q);
  };
}

function home(): string {
  if (session.can("trace")) return "/cases";
  if (session.can("screen")) return "/screen";
  return "/intel";
}

route("/signin", (_, q) => {
  layout();
  signInView(q.get("next") || "", expiredNotice, () => {
    expiredNotice = false;
    if (session.can("trace")) startEvents();
    const next = q.get("next");
    go(next && next.startsWith("/") && !next.startsWith("//") ? next : home(), true);
  });
});
route("/", guarded(null, () => go(home(), true)));
route("/screen", guarded("screen", (_, q) => screenView(q)));
route("/address/:chain/:address", guarded("screen", (p) => addressView(p.chain, p.address)));
route("/trace", guarded("trace", async (_, q) => (await import("./views/trace")).traceView(q)));
route("/trace/job/:id", guarded("trace", async (p) => (await import("./views/trace")).traceJobView(p.id)));
route("/cases/:id/traces/:trace/:version", guarded("trace", async (p) => (await import("./views/trace")).savedTraceView(p.id, p.trace, p.version)));
route("/alerts", guarded("trace", () => alertsView()));
route("/intel", guarded(null, () => intelView()));
route("/cases", guarded("trace", () => casesView()));
route("/cases/:id", guarded("trace", (p) => caseView(p.id)));
otherwise(guarded(null, () => go(home(), true)));

// A session that ends mid-work sends the page to sign-in; drafts stay in
// sessionStorage, and sign-in returns to the same page.
onUnauthenticated(() => {
  if (location.pathname === "/signin") return;
  session.set(null);
  stopEvents();
  expiredNotice = true;
  go("/signin?next=" + encodeURIComponent(location.pathname + location.search), true);
});

async function boot(): Promise<void> {
  setLang(lang());
  listen();
  const who = await session.resume();
  if (who && session.can("trace")) startEvents();
  render();
}

void boot();
