import { h, replace, short } from "../dom";
import { t } from "../i18n";
import { post } from "../api";
import { amountEl } from "../amount";
import { view, errorBox, loading, riskBadge, table, button } from "../ui";
import { queries, type Query } from "../csv";
import { keep } from "../drafts";

export interface ScreenResult {
  input: string;
  chain?: string;
  address?: string;
  risk?: string;
  sanctioned: boolean;
  sanctions?: { party: string; programs?: string[]; list_date: string; source: string }[];
  attributions?: { entity: string; label?: string; category: string; source: string; confidence: number }[];
  intel?: { partner: string; marking?: string; category?: string }[];
  reasons?: { risk: string; code: string; message: string }[];
  exposure?: { direct: Exposure[]; indirect: Exposure[] };
  error?: { reason: string; message: string };
}
interface Exposure {
  category: string;
  hops: number;
  asset: string;
  amount: string;
}
interface ScreenResponse {
  summary: { total: number; invalid: number; sanctioned: number; by_risk: Record<string, number> };
  results: ScreenResult[];
}

const maxBatch = 10_000;

export function exposureList(chain: string, e?: { direct: Exposure[]; indirect: Exposure[] }): HTMLElement | null {
  if (!e) return null;
  const items = [...(e.direct ?? []), ...(e.indirect ?? [])];
  if (items.length === 0) return null;
  return h(
    "ul",
    { class: "plain" },
    items.map((x) => h("li", null, x.category, " (", x.hops <= 1 ? t("screen.direct") : t("screen.indirect", { hops: x.hops }), "): ", amountEl(chain, x.asset, x.amount))),
  );
}

export function screenView(q: URLSearchParams): void {
  const input = h("textarea", { id: "screen-input", attrs: { rows: "6", spellcheck: "false" }, placeholder: "0x098B716B8Aaf21512996dC57EB0615e2383E2f96\nbtc,1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa" });
  const forget = keep(input, "screen");
  if (q.get("q")) input.value = q.get("q") as string;
  const out = h("div", { class: "results" });
  const file = h("input", { type: "file", attrs: { accept: ".csv,text/csv,text/plain" } });
  const drop = h("label", { class: "drop" }, t("screen.drop"), file);
  const readFile = async (f: File) => {
    input.value = await f.text();
    input.dispatchEvent(new Event("input"));
  };
  file.addEventListener("change", () => file.files?.[0] && void readFile(file.files[0]));
  drop.addEventListener("dragover", (ev) => {
    ev.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (ev) => {
    ev.preventDefault();
    drop.classList.remove("over");
    const f = ev.dataTransfer?.files?.[0];
    if (f) void readFile(f);
  });
  const run = async () => {
    const qs: Query[] = queries(input.value);
    if (qs.length === 0) return;
    if (qs.length > maxBatch) {
      replace(out, h("p", { class: "error" }, t("screen.tooMany", { n: maxBatch })));
      return;
    }
    replace(out, loading());
    try {
      const res = await post<ScreenResponse>("/v1/screen", { addresses: qs.map((x) => (x.chain ? { address: x.address, chain: x.chain } : x.address)) });
      forget();
      replace(out, results(res));
    } catch (e) {
      replace(out, errorBox(e));
    }
  };
  view(
    t("screen.title"),
    h("p", { class: "muted" }, t("screen.help")),
    h("div", { class: "screen-input" }, input, drop),
    h("p", null, button(t("screen.run"), () => void run(), "primary")),
    out,
  );
}

function results(res: ScreenResponse): HTMLElement {
  const s = res.summary;
  const rows = res.results.map((r) => {
    const chain = r.chain ?? "";
    return [
      r.address ? h("a", { href: "/address/" + encodeURIComponent(chain) + "/" + encodeURIComponent(r.address) }, short(r.input, 10)) : short(r.input, 10),
      chain,
      r.error ? h("span", { class: "risk risk-invalid", title: r.error.message }, r.error.reason) : [riskBadge(r.risk), r.sanctioned ? h("strong", { class: "sanctioned" }, " ", t("screen.sanctioned")) : null],
      r.error
        ? r.error.message
        : h("ul", { class: "plain" }, (r.reasons ?? []).map((x) => h("li", null, x.message))),
      exposureList(chain, r.exposure),
    ];
  });
  return h(
    "div",
    null,
    h("p", { class: "summary" }, t("screen.summary", { total: s.total, sanctioned: s.sanctioned, invalid: s.invalid })),
    table([t("screen.input"), t("common.chain"), t("screen.verdict"), t("screen.reasons"), t("screen.exposure")], rows, "screen-results"),
  );
}
