import { h, replace, type Child } from "./dom";
import { t, type Key } from "./i18n";
import { ApiError, absent } from "./api";

// The main area of the page, where views render.
export function main(): HTMLElement {
  return document.getElementById("main") as HTMLElement;
}

export function view(title: string, ...children: Child[]): HTMLElement {
  const el = h("section", { class: "view" }, h("h1", null, title), ...children);
  replace(main(), el);
  document.title = title + " · tracehound";
  return el;
}

export function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.message + " (" + e.code + ")";
  return e instanceof Error ? e.message : String(e);
}

export function errorBox(e: unknown): HTMLElement {
  if (absent(e)) return h("p", { class: "muted" }, t("common.notAvailable"));
  return h("p", { class: "error", attrs: { role: "alert" } }, t("common.error", { msg: errorText(e) }));
}

export function loading(): HTMLElement {
  return h("p", { class: "muted" }, t("common.loading"));
}

export function tlpBadge(tlp: string): HTMLElement {
  const cls = "tlp tlp-" + (tlp || "").toLowerCase().replace("tlp:", "").replace("+", "");
  return h("span", { class: cls }, tlp || "?");
}

export function riskBadge(risk: string | undefined): HTMLElement {
  const r = risk || "low";
  const key = ("risk." + r) as Key;
  return h("span", { class: "risk risk-" + r }, t(key));
}

export function table(headers: string[], rows: Child[][], cls = ""): HTMLTableElement {
  return h(
    "table",
    { class: cls },
    h("thead", null, h("tr", null, headers.map((x) => h("th", null, x)))),
    h("tbody", null, rows.map((r) => h("tr", null, r.map((c) => h("td", null, c))))),
  );
}

export function field(label: string, input: HTMLElement): HTMLElement {
  return h("label", { class: "field" }, h("span", null, label), input);
}

export function button(label: string, onClick: (ev: MouseEvent) => void, cls = ""): HTMLButtonElement {
  return h("button", { type: "button", class: cls, on: { click: onClick } }, label);
}

export function toast(text: string, cls = ""): void {
  const area = document.getElementById("toasts");
  if (!area) return;
  const el = h("div", { class: "toast " + cls, attrs: { role: "status" } }, text);
  area.appendChild(el);
  setTimeout(() => el.remove(), 8000);
}
