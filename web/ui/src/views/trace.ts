import { h, replace, short, clear } from "../dom";
import { t, fmtTime } from "../i18n";
import { get, post, del, enc } from "../api";
import { amountEl, amountText } from "../amount";
import { view, errorBox, loading, table, button, field, errorText, toast, tlpBadge } from "../ui";
import { keep } from "../drafts";
import { go } from "../router";
import { Model, nodeKey, type Result } from "../model";
import { Graph, linkText, type Selection } from "../graph";
import { addToCaseDialog, type CaseSummary } from "./cases";

// drawLimit is the most addresses drawn at once; a larger trace is
// summarised by hop, with each hop opened on its own.
export const drawLimit = 10_000;
const hopDrawLimit = 2_000;

interface Job {
  id: string;
  state: string;
  progress: { addresses_tainted: number; addresses_queued: number };
  result?: Result;
  error?: string;
}

let current: Graph | null = null;

function form(q: URLSearchParams, run: (req: Record<string, unknown>) => void): HTMLElement {
  const chain = h("select", { name: "chain" }, ["eth", "btc", "tron"].map((c) => h("option", { value: c, selected: c === (q.get("chain") ?? "eth") }, c)));
  const seeds = h("textarea", { id: "seeds", attrs: { rows: "2", spellcheck: "false" } });
  const forget = keep(seeds, "trace-seeds");
  if (q.get("seeds")) seeds.value = q.get("seeds") as string;
  const model = h("select", { name: "model" }, ["haircut", "poison", "fifo"].map((m) => h("option", { value: m, selected: m === (q.get("model") ?? "haircut") }, m)));
  const hops = h("input", { type: "number", value: q.get("hops") ?? "30", attrs: { min: "1", max: "100" } });
  const since = h("input", { type: "date", value: q.get("since") ?? "" });
  const dir = h("select", null, h("option", { value: "forward" }, t("trace.forward")), h("option", { value: "backward", selected: q.get("direction") === "backward" }, t("trace.backward")));
  const file = h("input", { type: "file", attrs: { accept: ".json,application/json" } });
  file.addEventListener("change", async () => {
    const f = file.files?.[0];
    if (!f) return;
    try {
      show(JSON.parse(await f.text()) as Result, null);
    } catch (e) {
      toast(errorText(e), "error");
    }
  });
  return h(
    "form",
    { class: "trace-form", on: { submit: (ev) => {
      ev.preventDefault();
      const list = seeds.value.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);
      if (!list.length) return;
      forget();
      const req: Record<string, unknown> = { chain: chain.value, seeds: list, model: model.value, hops: Number(hops.value) || 30 };
      if (since.value) req.since = since.value;
      if (dir.value === "backward") req.direction = "backward";
      run(req);
    } } },
    h("div", { class: "grid-trace" }, field(t("common.chain"), chain), field(t("trace.seeds"), seeds), field(t("trace.model"), model), field(t("trace.hops"), hops), field(t("trace.since"), since), field(t("trace.direction"), dir)),
    h("p", null, h("button", { type: "submit", class: "primary" }, t("trace.run")), " ", h("label", { class: "upload" }, t("trace.fromFile"), " ", file)),
  );
}

let lastRequest: Record<string, unknown> | null = null;

export function traceView(q: URLSearchParams): void {
  const out = h("div", { id: "trace-out" });
  view(t("trace.title"), form(q, (req) => void start(req)), out);
  if (q.get("run") === "1" && q.get("seeds")) (document.querySelector(".trace-form") as HTMLFormElement | null)?.requestSubmit();
}

async function start(req: Record<string, unknown>): Promise<void> {
  lastRequest = req;
  try {
    const j = await post<{ id: string }>("/v1/traces?async=true", req);
    sessionStorage.setItem("tracehound.job." + j.id, JSON.stringify(req));
    history.replaceState(null, "", "/trace/job/" + enc(j.id));
    await poll(j.id);
  } catch (e) {
    replace(out(), errorBox(e));
  }
}

function out(): HTMLElement {
  return document.getElementById("trace-out") as HTMLElement;
}

export async function traceJobView(id: string): Promise<void> {
  const o = h("div", { id: "trace-out" });
  view(t("trace.title"), form(new URLSearchParams(), (req) => void start(req)), o);
  try {
    lastRequest = JSON.parse(sessionStorage.getItem("tracehound.job." + id) ?? "null");
  } catch {
    lastRequest = null;
  }
  await poll(id);
}

async function poll(id: string): Promise<void> {
  const status = h("p", { class: "progress", attrs: { role: "status" } }, loading());
  const stop = button(t("trace.cancel"), () => void del("/v1/traces/jobs/" + enc(id)).catch(() => undefined), "small");
  replace(out(), status, stop);
  for (;;) {
    let j: Job;
    try {
      j = await get<Job>("/v1/traces/jobs/" + enc(id));
    } catch (e) {
      replace(out(), errorBox(e));
      return;
    }
    if (!document.body.contains(status)) return; // the user went elsewhere
    if (j.state === "done" && j.result) {
      show(j.result, lastRequest);
      return;
    }
    if (j.state === "failed") {
      replace(out(), h("p", { class: "error" }, t("trace.failed", { msg: j.error ?? "" })));
      return;
    }
    replace(status, t("trace.running", { tainted: j.progress?.addresses_tainted ?? 0, queued: j.progress?.addresses_queued ?? 0 }));
    await new Promise((r) => setTimeout(r, 400));
  }
}

export async function savedTraceView(caseID: string, trace: string, version: string): Promise<void> {
  const o = h("div", { id: "trace-out" }, loading());
  view(t("trace.title"), h("p", null, h("a", { href: "/cases/" + enc(caseID) }, "← ", caseID), " · ", trace, " · ", t("cases.version", { v: version })), o);
  try {
    const r = await get<Result>(`/v1/cases/${enc(caseID)}/traces/${enc(trace)}/versions/${enc(version)}`);
    show(r, null, caseID);
  } catch (e) {
    replace(o, errorBox(e));
  }
}

// show draws a finished trace: figures, the graph (or, when too large, a
// summary by hop), endpoints, swaps and warnings.
export function show(r: Result, request: Record<string, unknown> | null, caseID?: string): void {
  current?.destroy();
  current = null;
  const m = new Model(r);
  const o = out();
  const side = h("aside", { class: "side" }, h("p", { class: "muted" }, t("trace.selectHint")));
  const graphEl = h("div", { class: "graph", id: "graph" });
  const head = h("div", { class: "trace-head" },
    h("span", { class: "figure" }, t("trace.tainted"), ": ", amountEl(r.chain, r.asset, r.tainted)),
    h("span", null, t("trace.nodes", { nodes: r.nodes.length, edges: r.edges.length, endpoints: r.endpoints.length })),
    r.through_block ? h("span", { class: "muted" }, t("trace.through", { block: r.through_block })) : null,
    request ? button(t("trace.saveToCase"), () => saveToCase(request, r), "small") : null,
  );
  const seedsOf = () => (request?.seeds as string[] | undefined)?.map((s) => ({ chain: r.chain, seed: s })) ?? [];
  const select = (s: Selection) => details(m, s, side, seedsOf, request, r);
  const warnings = r.warnings?.length ? h("details", { class: "warnings" }, h("summary", null, t("trace.warnings"), " (", String(r.warnings.length), ")"), h("ul", null, r.warnings.map((w) => h("li", null, w)))) : null;
  const hops = hopTable(m, (hop) => {
    if (current) {
      current.collapsed.delete(hop);
      current.draw();
    } else drill(m, hop, o.querySelector(".drill") as HTMLElement, select);
  });
  const endpoints = endpointTable(m, (k) => {
    current?.select(k);
    select({ kind: "node", key: k });
  });
  const swaps = r.swaps?.length ? [h("h2", null, t("trace.swaps")), table([t("common.time"), t("trace.service"), t("common.asset"), t("common.amount"), t("common.tx")],
    r.swaps.map((s) => [fmtTime(s.time), s.label?.entity ?? short(s.venue), s.asset ? short(s.asset, 6) : r.chain, amountEl(r.chain, s.asset, s.tainted), short(s.tx, 8)]))] : null;
  if (r.nodes.length > drawLimit) {
    replace(o, head, warnings, h("p", { class: "notice" }, t("trace.tooLarge", { nodes: r.nodes.length })), h("div", { class: "trace-body" }, h("div", null, h("h2", null, t("trace.hopsTable")), hops, h("div", { class: "drill" })), side), h("h2", null, t("trace.endpoints")), endpoints, swaps);
    return;
  }
  const slider = timeSlider(m, (ms) => current?.setTime(ms));
  const tools = h("div", { class: "graph-tools" },
    button(t("trace.expandAll"), () => current?.expandAll(), "small"),
    button(t("trace.collapseAll"), () => { current?.collapseLarge(); current?.draw(); }, "small"),
    slider,
    h("span", { class: "legend" }, h("i", { class: "lg seed" }), h("i", { class: "lg service" }), h("i", { class: "lg deposit" }), h("i", { class: "lg frontier" }), t("trace.legend")));
  replace(o, head, warnings, tools, h("div", { class: "trace-body" }, graphEl, side), h("div", { class: "trace-tables" }, h("div", null, h("h2", null, t("trace.endpoints")), endpoints), h("div", null, h("h2", null, t("trace.hopsTable")), hops)), swaps);
  const g = new Graph(graphEl, m, select);
  current = g;
  g.collapseLarge();
  g.draw();
  // When the first view became interactive, in ms since navigation.
  graphEl.dataset.readyMs = performance.now().toFixed(0);
  graphEl.dataset.ready = "1";
  void caseID;
}

function timeSlider(m: Model, on: (ms: number) => void): HTMLElement {
  if (m.times.length < 2) return h("span");
  const steps = Math.min(1000, m.times.length - 1);
  const input = h("input", { type: "range", value: String(steps), attrs: { min: "0", max: String(steps), "aria-label": t("trace.time") } });
  const label = h("span", { class: "mono small" }, fmtTime(new Date(m.times[m.times.length - 1]).toISOString()));
  input.addEventListener("input", () => {
    const i = Math.round((Number(input.value) / steps) * (m.times.length - 1));
    const ms = m.times[i];
    label.textContent = fmtTime(new Date(ms).toISOString());
    on(Number(input.value) === steps ? Number.POSITIVE_INFINITY : ms);
  });
  return h("label", { class: "slider" }, t("trace.time"), " ", input, " ", label);
}

function hopTable(m: Model, open: (hop: number) => void): HTMLElement {
  const r = m.r;
  return table([t("common.hop"), t("common.asset"), t("trace.addresses"), t("trace.transfers"), t("common.amount"), ""],
    (r.hops ?? []).map((x) => [String(x.hop), x.asset ? short(x.asset, 6) : r.chain, String(x.addresses), String(x.transfers), amountEl(r.chain, x.asset, x.tainted), button(t("trace.drill"), () => open(x.hop), "small")]), "hops");
}

function endpointTable(m: Model, pick: (key: string) => void): HTMLElement {
  const r = m.r;
  const rows = [...(r.endpoints ?? [])].sort((a, b) => (BigInt(b.amount) > BigInt(a.amount) ? 1 : BigInt(b.amount) < BigInt(a.amount) ? -1 : 0));
  return table([t("trace.service"), t("trace.category"), t("common.address"), t("common.amount"), t("common.hop"), t("trace.txs")],
    rows.map((e) => [e.label?.entity ?? "", [e.label?.category ?? "", e.label?.heuristic === "deposit-address" ? " · " + t("trace.deposit") : ""],
      h("a", { href: "#", class: "endpoint-link", on: { click: (ev) => { ev.preventDefault(); pick(nodeKey(e.address, e.asset)); } } }, short(e.address, 8)),
      amountEl(r.chain, e.asset, e.amount), String(e.hop), String(e.txs?.length ?? 0)]), "endpoints");
}

// drill shows one hop of a trace too large to draw: its addresses by
// amount received, and a graph of at most hopDrawLimit of them.
function drill(m: Model, hop: number, el: HTMLElement, select: (s: Selection) => void): void {
  const keys = [...m.nodes.entries()].filter(([, n]) => n.hop === hop).sort((a, b) => (BigInt(b[1].received) > BigInt(a[1].received) ? 1 : -1)).map(([k]) => k);
  const top = keys.slice(0, 500);
  replace(el, h("h3", null, t("common.hop"), " ", String(hop), " (", String(keys.length), ")"),
    table([t("common.address"), t("trace.received"), t("trace.service")], top.map((k) => {
      const n = m.nodes.get(k)!;
      return [h("a", { href: "#", on: { click: (ev) => { ev.preventDefault(); select({ kind: "node", key: k }); } } }, short(n.address, 8)), amountEl(m.r.chain, n.asset, n.received), n.label?.entity ?? ""];
    })));
  if (keys.length <= hopDrawLimit) {
    // A sub-trace of the hop and the addresses that paid into it.
    const keep = new Set(keys);
    for (const l of m.links.values()) if (keep.has(l.to)) keep.add(l.from);
    const sub: Result = { ...m.r, nodes: [...keep].map((k) => m.nodes.get(k)!), edges: m.r.edges.filter((e) => keep.has(m.resolve(e.to, e.asset, e.hop)) && keep.has(m.resolve(e.from, e.asset, e.hop - 1))) };
    const g = h("div", { class: "graph small-graph" });
    el.appendChild(g);
    current?.destroy();
    current = new Graph(g, new Model(sub), select);
    current.draw();
  }
}

function details(m: Model, s: Selection, side: HTMLElement, seeds: () => { chain: string; seed: string }[], request: Record<string, unknown> | null, r: Result): void {
  const chain = r.chain;
  clear(side);
  if (s.kind === "hop") return;
  if (s.kind === "link") {
    const l = m.links.get(s.key);
    if (!l) return;
    const a = m.nodes.get(l.from)!;
    const b = m.nodes.get(l.to)!;
    side.append(h("h2", null, short(a.address, 6), " → ", short(b.address, 6)), h("p", { class: "figure" }, linkText(m, l)), txList(m, l.edges));
    current?.highlight(l.edges);
    return;
  }
  const n = m.nodes.get(s.key);
  if (!n) return;
  const path = m.path(s.key);
  current?.highlight(path);
  const endpoint = r.endpoints.find((e) => nodeKey(e.address, e.asset) === s.key);
  side.append(
    h("h2", null, n.label?.entity ?? t("common.address")),
    h("p", { class: "mono wrap" }, n.address),
    h("p", null, n.seed ? h("span", { class: "tag" }, t("trace.seed")) : null, n.label?.category ? h("span", { class: "tag" }, n.label.category) : null,
      m.isDeposit(n) ? h("span", { class: "tag deposit" }, t("trace.deposit")) : null, n.frontier ? h("span", { class: "tag" }, t("trace.frontier")) : null, " ", t("common.hop"), " ", String(n.hop)),
    h("dl", null, h("dt", null, t("trace.received")), h("dd", null, amountEl(chain, n.asset, n.received)), h("dt", null, t("trace.sentCol")), h("dd", null, amountEl(chain, n.asset, n.sent)),
      h("dt", null, t("trace.remaining")), h("dd", null, amountEl(chain, n.asset, n.remaining))),
    h("p", { class: "actions" },
      h("a", { href: "/address/" + enc(chain) + "/" + enc(n.address) }, t("trace.openAddress")), " ",
      endpoint || m.isService(n) ? button(t("trace.createCase"), () => addToCaseDialog({ chain, address: n.address, role: m.isDeposit(n) ? "deposit" : "service", service: n.label?.entity, seeds: seeds(), trace: request ? { request, result: r } : undefined }), "small") : null,
      endpoint ? button(t("trace.draftFreeze"), () => addToCaseDialog({ chain, address: n.address, role: m.isDeposit(n) ? "deposit" : "service", service: n.label?.entity, asset: endpoint.asset, amount: endpoint.amount, freeze: true, seeds: seeds(), trace: request ? { request, result: r } : undefined }), "small") : null,
    ),
    h("h3", null, t("trace.path")),
    path.length ? h("ol", { class: "path" }, path.map((i) => {
      const e = r.edges[i];
      return h("li", null, short(e.from, 6), " → ", short(e.to, 6), " ", amountEl(chain, e.asset, e.tainted), h("br"), h("span", { class: "mono small", title: e.tx }, short(e.tx, 8)), " ", h("span", { class: "muted small" }, fmtTime(e.time)));
    })) : h("p", { class: "muted" }, t("common.none")),
    h("h3", null, t("trace.txs")),
    txList(m, m.incoming.get(s.key) ?? []),
  );
}

function txList(m: Model, idx: number[]): HTMLElement {
  const r = m.r;
  return h("ul", { class: "plain txs" }, idx.slice(0, 100).map((i) => {
    const e = r.edges[i];
    return h("li", null, h("span", { class: "mono small", title: e.tx }, short(e.tx, 10)), " ", amountEl(r.chain, e.asset, e.tainted), " / ", amountEl(r.chain, e.asset, e.amount), " ", h("span", { class: "muted small" }, fmtTime(e.time), " #", String(e.block)));
  }), idx.length > 100 ? h("li", { class: "muted" }, "… ", String(idx.length - 100)) : null);
}

function saveToCase(request: Record<string, unknown>, r: Result): void {
  const dlg = h("dialog", { class: "dialog" });
  const body = h("div", null, loading());
  dlg.append(h("h2", null, t("trace.saveToCase")), body, h("p", null, button(t("common.close"), () => { dlg.close(); dlg.remove(); })));
  document.body.appendChild(dlg);
  dlg.showModal();
  get<{ cases: CaseSummary[] }>("/v1/cases").then((b) => replace(body, h("ul", { class: "plain pick" }, b.cases.filter((c) => c.status === "open").map((c) =>
    h("li", null, button(c.reference + ": " + c.title, async () => {
      try {
        await post(`/v1/cases/${enc(c.id)}/traces`, { name: amountText(r.chain, r.asset, r.tainted), request, result: r });
        dlg.close();
        dlg.remove();
        go("/cases/" + enc(c.id));
      } catch (e) {
        toast(errorText(e), "error");
      }
    }, "link"), " ", tlpBadge(c.tlp)))))).catch((e) => replace(body, errorBox(e)));
}
