import { h, replace, short } from "../dom";
import { t, fmtTime } from "../i18n";
import { get, enc, absent } from "../api";
import { amountEl } from "../amount";
import { view, errorBox, loading, riskBadge, table, tlpBadge, button } from "../ui";
import { can } from "../session";
import { go } from "../router";
import type { ScreenResult } from "./screen";
import { exposureList } from "./screen";
import { addToCaseDialog } from "./cases";

interface Posting {
  chain: string;
  address: string;
  incoming: boolean;
  time: string;
  block: number;
  tx: string;
  counterparty: string;
  asset?: string;
  amount: string;
}

interface Total {
  asset?: string;
  received?: string;
  sent?: string;
  balance?: string;
}

// totalsOf reads per-asset totals in the shapes a node may answer:
// {"totals": [...]}, a bare list, or an object keyed by asset.
export function totalsOf(body: unknown): Total[] {
  const b = body as any;
  const list = Array.isArray(b) ? b : Array.isArray(b?.totals) ? b.totals : b?.totals && typeof b.totals === "object" ? Object.entries(b.totals).map(([asset, v]) => ({ asset, ...(v as object) })) : [];
  return list.map((x: any) => {
    const received = x.received ?? x.in;
    const sent = x.sent ?? x.out;
    let balance = x.balance;
    if (balance === undefined && /^\d+$/.test(received ?? "") && /^\d+$/.test(sent ?? "")) {
      const v = BigInt(received) - BigInt(sent);
      balance = v >= 0n ? v.toString() : undefined;
    }
    return { asset: x.asset ?? "", received, sent, balance };
  });
}

export async function addressView(chain: string, address: string): Promise<void> {
  const top = h("div", null, loading());
  const totals = h("div", null, loading());
  const history = h("div", null, loading());
  const alerts = h("div");
  const cases = h("div");
  view(
    t("address.title"),
    h("p", { class: "address-line" }, h("span", { class: "chain" }, chain), " ", h("span", { class: "mono big" }, address)),
    h("p", { class: "actions" },
      can("trace") ? button(t("address.trace"), () => go("/trace?chain=" + enc(chain) + "&seeds=" + enc(address))) : null,
      can("trace") ? button(t("address.addToCase"), () => addToCaseDialog({ chain, address, role: "other" })) : null,
    ),
    top,
    h("h2", null, t("address.balance")),
    totals,
    h("h2", null, t("address.history")),
    history,
    can("trace") ? [h("h2", null, t("address.alerts")), alerts, h("h2", null, t("address.cases")), cases] : null,
  );
  const base = "/v1/addresses/" + enc(chain) + "/" + enc(address);
  get<ScreenResult>(base)
    .then((r) => replace(top, screening(r)))
    .catch((e) => replace(top, errorBox(e)));
  get(base + "/totals")
    .then((b) => {
      const list = totalsOf(b);
      replace(totals, list.length === 0 ? h("p", { class: "muted" }, t("common.none")) :
        table([t("common.asset"), t("address.received"), t("address.sent"), t("address.balanceCol")],
          list.map((x) => [x.asset || chain.toUpperCase(), x.received ? amountEl(chain, x.asset, x.received) : "", x.sent ? amountEl(chain, x.asset, x.sent) : "", x.balance ? amountEl(chain, x.asset, x.balance) : ""])));
    })
    .catch((e) => replace(totals, absent(e) ? h("p", { class: "muted" }, t("common.notAvailable")) : errorBox(e)));
  loadHistory(history, base, chain, "");
  if (can("trace")) {
    get<{ alerts: any[] }>("/v1/alerts?limit=10000")
      .then((b) => {
        const mine = (b.alerts ?? []).filter((a) => a.address === address || a.address === address.toLowerCase());
        replace(alerts, mine.length === 0 ? h("p", { class: "muted" }, t("common.none")) :
          table([t("alerts.watch"), t("common.amount"), t("alerts.raised")], mine.map((a) => [a.watch, amountEl(a.chain, a.asset, a.amount), fmtTime(a.raised)])));
      })
      .catch((e) => replace(alerts, errorBox(e)));
    get<{ cases: any[] }>("/v1/cases?address=" + enc(address))
      .then((b) => {
        const list = b.cases ?? [];
        replace(cases, list.length === 0 ? h("p", { class: "muted" }, t("common.none")) :
          h("ul", { class: "plain" }, list.map((c) => h("li", null, h("a", { href: "/cases/" + enc(c.id) }, c.reference, ": ", c.title), " ", tlpBadge(c.tlp)))));
      })
      .catch((e) => replace(cases, errorBox(e)));
  }
}

function loadHistory(el: HTMLElement, base: string, chain: string, before: string): void {
  const rows = h("tbody");
  const more = h("p");
  const tbl = h("table", { class: "history" },
    h("thead", null, h("tr", null, [t("common.time"), "", t("address.counterparty"), t("common.amount"), t("common.tx")].map((x) => h("th", null, x)))),
    rows);
  let started = false;
  const page = async (cursor: string) => {
    try {
      const b = await get<{ transfers: Posting[]; next?: string }>(base + "/transfers?limit=50" + (cursor ? "&before=" + enc(cursor) : ""));
      if (!started) {
        replace(el, (b.transfers ?? []).length === 0 ? h("p", { class: "muted" }, t("address.noHistory")) : [tbl, more]);
        started = true;
      }
      for (const p of b.transfers ?? []) {
        rows.appendChild(h("tr", null,
          h("td", null, fmtTime(p.time)),
          h("td", { class: p.incoming ? "dir-in" : "dir-out" }, p.incoming ? t("address.in") : t("address.out")),
          h("td", null, p.counterparty ? h("a", { href: "/address/" + enc(chain) + "/" + enc(p.counterparty) }, short(p.counterparty, 8)) : ""),
          h("td", null, amountEl(chain, p.asset, p.amount)),
          h("td", null, short(p.tx, 8)),
        ));
      }
      replace(more, b.next ? button(t("common.more"), () => void page(b.next as string)) : null);
    } catch (e) {
      replace(started ? more : el, absent(e) ? h("p", { class: "muted" }, t("common.notAvailable")) : errorBox(e));
    }
  };
  void page(before);
}

function screening(r: ScreenResult): HTMLElement {
  const chain = r.chain ?? "";
  return h(
    "div",
    { class: "screening" },
    h("p", null, riskBadge(r.risk), r.sanctioned ? h("strong", { class: "sanctioned" }, " ", t("screen.sanctioned")) : null),
    r.reasons?.length ? h("ul", { class: "plain" }, r.reasons.map((x) => h("li", null, x.message))) : null,
    r.sanctions?.length
      ? [h("h2", null, t("address.sanctions")), table([t("address.party"), t("address.programs"), t("address.listed"), t("address.source")],
          r.sanctions.map((s) => [s.party, (s.programs ?? []).join(", "), fmtTime(s.list_date), s.source]))]
      : null,
    h("h2", null, t("address.tags")),
    r.attributions?.length
      ? table([t("address.entity"), t("address.category"), t("address.source"), t("address.confidence")],
          r.attributions.map((a) => [a.entity + (a.label && a.label !== a.entity ? " (" + a.label + ")" : ""), a.category, a.source, String(a.confidence)]))
      : h("p", { class: "muted" }, t("common.none")),
    r.intel?.length
      ? [h("h2", null, t("address.intel")), table([t("common.partner"), t("common.tlp"), t("address.category")], r.intel.map((x) => [x.partner, tlpBadge(x.marking ?? ""), x.category ?? ""]))]
      : null,
    r.exposure ? [h("h2", null, t("screen.exposure")), exposureList(chain, r.exposure)] : null,
  );
}
