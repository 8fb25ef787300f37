import { h, replace, short, clear } from "../dom";
import { t, fmtTime, type Key } from "../i18n";
import { get, post, patch, call, enc, ApiError } from "../api";
import { amountEl, amountText, assetInfo, parseUnits } from "../amount";
import { view, errorBox, loading, table, tlpBadge, button, field, errorText, toast } from "../ui";
import { levels, current } from "../session";
import { keep } from "../drafts";
import { go } from "../router";

export interface CaseSummary {
  id: string;
  reference: string;
  title: string;
  tlp: string;
  status: string;
  creator: string;
  updated: string;
  addresses: number;
  freezes: number;
  frozen: number;
}

export interface Freeze {
  id: string;
  service: string;
  chain: string;
  address: string;
  asset?: string;
  requested: string;
  frozen: string;
  released: string;
  status: string;
  reference?: string;
  note?: string;
  history: { status: string; amount: string; note?: string; time: string; by: string }[];
}

export interface Case {
  id: string;
  reference: string;
  title: string;
  summary?: string;
  tlp: string;
  status: string;
  creator: string;
  keys: string[];
  created: string;
  updated: string;
  version: number;
  seeds: { chain: string; seed: string; note?: string; added: string; by: string }[];
  traces: { id: string; name: string; versions: { version: number; created: string; by: string; sha256: string; summary: { nodes: number; endpoints: number; tainted: string; chain?: string; asset?: string; through_block: number } }[] }[];
  addresses: { chain: string; address: string; role?: string; note?: string; share?: boolean; added: string; by: string }[];
  notes: { id: string; text: string; by: string; time: string }[];
  alerts: { id: string; watch?: string; address?: string }[];
  watches: string[];
  freezes: Freeze[];
  attachments: { id: string; name: string; content_type: string; size: number; sha256: string; added: string; by: string }[];
  shares: { collection: string; tlp: string; objects: number; time: string; by: string }[];
}

const roles = ["victim", "theft", "laundering", "deposit", "service", "other"];
const nextStatus: Record<string, string[]> = { drafted: ["sent"], sent: ["acknowledged", "frozen"], acknowledged: ["frozen"], frozen: ["released"], released: [] };

function tlpSelect(selected = "TLP:AMBER"): HTMLSelectElement {
  return h("select", { name: "tlp" }, levels().map((l) => h("option", { value: l, selected: l === selected }, l)));
}

function newCaseForm(prefill: Partial<{ reference: string; title: string; seeds: { chain: string; seed: string }[]; addresses: { chain: string; address: string; role: string }[] }>, done: (c: Case) => void): HTMLFormElement {
  const ref = h("input", { name: "reference", value: prefill.reference ?? "", attrs: { required: "", maxlength: "64" } });
  const title = h("input", { name: "title", value: prefill.title ?? "", attrs: { required: "", maxlength: "300" } });
  const summary = h("textarea", { name: "summary", attrs: { rows: "3" } });
  const forget = keep(summary, "new-case-summary");
  const tlp = tlpSelect();
  const keys = h("input", { name: "keys" });
  const msg = h("p", { class: "error" });
  return h(
    "form",
    {
      class: "new-case",
      on: {
        submit: async (ev) => {
          ev.preventDefault();
          try {
            const c = await post<Case>("/v1/cases", {
              reference: ref.value, title: title.value, summary: summary.value, tlp: tlp.value,
              keys: keys.value.split(",").map((x) => x.trim()).filter(Boolean),
              seeds: prefill.seeds ?? [], addresses: prefill.addresses ?? [],
            });
            forget();
            done(c);
          } catch (e) {
            msg.textContent = errorText(e);
          }
        },
      },
    },
    h("div", { class: "grid2" }, field(t("cases.reference"), ref), field(t("common.tlp"), tlp)),
    field(t("cases.caseTitle"), title),
    field(t("cases.summary"), summary),
    field(t("cases.keys"), keys),
    h("button", { type: "submit", class: "primary" }, t("cases.create")),
    msg,
  );
}

export async function casesView(): Promise<void> {
  const list = h("div", null, loading());
  const form = newCaseForm({}, (c) => go("/cases/" + enc(c.id)));
  view(t("cases.title"), h("details", { class: "box" }, h("summary", null, t("cases.new")), form), list);
  try {
    const b = await get<{ cases: CaseSummary[] }>("/v1/cases");
    replace(list, b.cases.length === 0 ? h("p", { class: "muted" }, t("common.none")) :
      table([t("cases.reference"), t("cases.caseTitle"), t("common.tlp"), t("common.status"), t("cases.freezes"), t("cases.updated")],
        b.cases.map((c) => [h("a", { href: "/cases/" + enc(c.id) }, c.reference), c.title, tlpBadge(c.tlp), t(("cases." + c.status) as Key), [String(c.freezes), c.frozen ? " · " + t("cases.frozen", { n: c.frozen }) : ""], fmtTime(c.updated)]), "cases"));
  } catch (e) {
    replace(list, errorBox(e));
  }
}

// addToCaseDialog adds an address to an existing case or opens a new one
// with it; opts.freeze also drafts a freeze request.
export function addToCaseDialog(a: { chain: string; address: string; role: string; service?: string; asset?: string; amount?: string; seeds?: { chain: string; seed: string }[]; trace?: { request: unknown; result: unknown }; freeze?: boolean }): void {
  const dlg = h("dialog", { class: "dialog" });
  const body = h("div", null, loading());
  dlg.appendChild(h("div", null, h("h2", null, t("cases.chooseCase")), h("p", { class: "mono" }, a.chain, " ", a.address), body,
    h("p", null, button(t("common.close"), () => { dlg.close(); dlg.remove(); }))));
  document.body.appendChild(dlg);
  dlg.showModal();
  const attach = async (c: { id: string }) => {
    try {
      await post(`/v1/cases/${enc(c.id)}/addresses`, { chain: a.chain, address: a.address, role: a.role, share: a.role === "deposit" });
      if (a.trace) await post(`/v1/cases/${enc(c.id)}/traces`, { name: "trace", request: a.trace.request, result: a.trace.result });
      if (a.freeze && a.amount) {
        await post(`/v1/cases/${enc(c.id)}/freezes`, { service: a.service || "service", chain: a.chain, address: a.address, asset: a.asset ?? "", requested: a.amount });
      }
      dlg.close();
      dlg.remove();
      go("/cases/" + enc(c.id));
    } catch (e) {
      toast(errorText(e), "error");
    }
  };
  get<{ cases: CaseSummary[] }>("/v1/cases")
    .then((b) => {
      const form = newCaseForm({ reference: "", title: a.service ? a.service + " " + a.address.slice(0, 10) : "", seeds: a.seeds }, (c) => void attach(c));
      replace(body,
        b.cases.filter((c) => c.status === "open").length
          ? h("ul", { class: "plain pick" }, b.cases.filter((c) => c.status === "open").map((c) => h("li", null, button(c.reference + ": " + c.title, () => void attach(c), "link"), " ", tlpBadge(c.tlp))))
          : null,
        h("h3", null, t("cases.newFromHere")),
        form);
    })
    .catch((e) => replace(body, errorBox(e)));
}

export async function caseView(id: string): Promise<void> {
  const root = view("…", loading());
  const path = "/v1/cases/" + enc(id);
  let c: Case;
  try {
    c = await get<Case>(path);
  } catch (e) {
    replace(root, errorBox(e));
    return;
  }
  const render = (x: Case) => {
    c = x;
    document.title = c.reference + " · tracehound";
    replace(root, ...casePage(c, path, render));
  };
  render(c);
}

// act runs a change and redraws the case from the answer.
async function act(fn: () => Promise<any>, render: (c: Case) => void, forget?: () => void): Promise<void> {
  try {
    const r = await fn();
    forget?.();
    render(r.case ?? r);
  } catch (e) {
    toast(errorText(e), "error");
    if (e instanceof ApiError && e.status === 409) toast(e.message, "error");
  }
}

function casePage(c: Case, path: string, render: (c: Case) => void) {
  const me = current()?.name ?? "";
  // Notes
  const note = h("textarea", { id: "note", attrs: { rows: "3" } });
  const forgetNote = keep(note, "note." + c.id);
  const notes = h("section", { class: "box" }, h("h2", null, t("cases.notes")),
    c.notes.length ? c.notes.map((n) => h("article", { class: "note" }, h("p", { class: "meta" }, n.id, " · ", n.by, " · ", fmtTime(n.time)), h("p", { class: "text" }, n.text))) : h("p", { class: "muted" }, t("common.none")),
    h("form", { on: { submit: (ev) => { ev.preventDefault(); if (note.value.trim()) void act(() => post(path + "/notes", { text: note.value }), render, forgetNote); } } },
      note, h("button", { type: "submit" }, t("cases.addNote"))));
  // Addresses
  const addrChain = h("input", { value: "eth", attrs: { size: "6" } });
  const addr = h("input", { class: "mono", attrs: { size: "44" } });
  const role = h("select", null, roles.map((r) => h("option", { value: r }, t(("role." + r) as Key))));
  const addrNote = h("input");
  const share = h("input", { type: "checkbox" });
  const addresses = h("section", { class: "box" }, h("h2", null, t("cases.addresses")),
    c.addresses.length ? table([t("common.chain"), t("common.address"), t("common.role"), t("common.note"), t("cases.share")],
      c.addresses.map((a) => [a.chain, h("a", { href: "/address/" + enc(a.chain) + "/" + enc(a.address) }, short(a.address, 10)), t(("role." + (a.role || "other")) as Key), h("span", { class: "text" }, a.note ?? ""), a.share ? t("common.yes") : t("common.no")])) : null,
    h("form", { class: "inline", on: { submit: (ev) => { ev.preventDefault(); void act(() => post(path + "/addresses", { chain: addrChain.value, address: addr.value, role: role.value, note: addrNote.value, share: share.checked }), render); } } },
      addrChain, addr, role, addrNote, h("label", null, share, t("cases.share")), h("button", { type: "submit" }, t("common.add"))));
  // Freeze requests
  const fService = h("input", { placeholder: t("cases.service") });
  const fChain = h("input", { value: "eth", attrs: { size: "6" } });
  const fAddr = h("input", { class: "mono", placeholder: t("common.address"), attrs: { size: "44" } });
  const fAsset = h("input", { placeholder: t("common.asset"), attrs: { size: "12" } });
  const fAmount = h("input", { placeholder: t("cases.requested") + " (ETH)", attrs: { size: "18" } });
  const unit = () => (fAmount.placeholder = t("cases.requested") + " (" + (assetInfo(fChain.value, fAsset.value || undefined)?.symbol ?? "base units") + ")");
  fChain.addEventListener("input", unit);
  fAsset.addEventListener("input", unit);
  const freezes = h("section", { class: "box" }, h("h2", null, t("cases.freezes")),
    c.freezes.length ? table([t("cases.service"), t("common.address"), t("cases.requested"), t("cases.frozenCol"), t("cases.released"), t("common.status"), ""],
      c.freezes.map((f) => [f.service, short(f.address, 8), amountEl(f.chain, f.asset, f.requested), amountEl(f.chain, f.asset, f.frozen), amountEl(f.chain, f.asset, f.released),
        h("span", { class: "freeze freeze-" + f.status, title: f.history.map((x) => fmtTime(x.time) + " " + x.status + " " + x.by + (x.note ? ": " + x.note : "")).join("\n") }, t(("freeze." + f.status) as Key)),
        freezeActions(f, path, render)]), "freezes") : null,
    h("form", { class: "inline", on: { submit: (ev) => {
      ev.preventDefault();
      let requested = fAmount.value.trim();
      const info = assetInfo(fChain.value, fAsset.value || undefined);
      try {
        // Human units where the asset's decimals are known, else base units.
        if (info) requested = parseUnits(requested, info.decimals);
      } catch (e) { toast(errorText(e), "error"); return; }
      void act(() => post(path + "/freezes", { service: fService.value, chain: fChain.value, address: fAddr.value, asset: fAsset.value, requested }), render);
    } } }, fService, fChain, fAddr, fAsset, fAmount, h("button", { type: "submit" }, t("cases.draftFreeze"))));
  // Traces
  const traces = h("section", { class: "box" }, h("h2", null, t("cases.traces")),
    c.traces.length ? h("ul", { class: "plain" }, c.traces.map((tr) => h("li", null, h("strong", null, tr.id, " ", tr.name), " ",
      tr.versions.map((v) => [h("a", { href: `/cases/${enc(c.id)}/traces/${enc(tr.id)}/${v.version}`, title: v.sha256 }, t("cases.version", { v: v.version })), " (", fmtTime(v.created), ", ", v.by, ", ", amountText(v.summary.chain ?? "", v.summary.asset, v.summary.tainted), ") "]),
      button(t("cases.rerun"), () => void act(() => post(`${path}/traces/${enc(tr.id)}/versions`, {}), render))))) : h("p", { class: "muted" }, t("common.none")));
  // Seeds, links
  const seeds = h("section", { class: "box" }, h("h2", null, t("cases.seeds")),
    c.seeds.length ? h("ul", { class: "plain" }, c.seeds.map((s) => h("li", null, s.chain, " ", h("a", { href: "/trace?chain=" + enc(s.chain) + "&seeds=" + enc(s.seed) }, short(s.seed, 12)), s.note ? " · " + s.note : ""))) : h("p", { class: "muted" }, t("common.none")),
    h("h3", null, t("cases.alertsWatches")),
    h("p", null, [...c.alerts.map((a) => "alert " + a.id + (a.watch ? " (" + a.watch + ")" : "")), ...c.watches.map((w) => "watch " + w)].join(", ") || t("common.none")));
  // Attachments
  const file = h("input", { type: "file" });
  file.addEventListener("change", () => {
    const f = file.files?.[0];
    if (!f) return;
    void act(() => call("POST", path + "/attachments?name=" + enc(f.name), undefined, { body: f, contentType: "application/octet-stream" }), render);
  });
  const attachments = h("section", { class: "box" }, h("h2", null, t("cases.attachments")),
    c.attachments.length ? table([t("common.name"), t("common.type"), "bytes", "SHA-256", t("common.by")],
      c.attachments.map((a) => [h("a", { href: `${path}/attachments/${enc(a.id)}`, attrs: { download: a.name } }, a.name), a.content_type, String(a.size), short(a.sha256, 8), a.by])) : null,
    h("label", { class: "upload" }, t("cases.upload"), " ", file));
  // Timeline
  const timeline = h("section", { class: "box" }, h("h2", null, t("cases.timeline")), loading());
  get<{ timeline: { seq: number; time: string; actor: string; action: string; detail?: Record<string, string> }[] }>(path + "/timeline")
    .then((b) => replace(timeline, h("h2", null, t("cases.timeline")),
      table(["#", t("common.time"), t("common.by"), t("common.type"), ""], b.timeline.map((e) => [String(e.seq), fmtTime(e.time), e.actor, e.action, h("span", { class: "mono small" }, Object.entries(e.detail ?? {}).map(([k, v]) => k + "=" + v).join(" "))]), "timeline")))
    .catch((e) => replace(timeline, errorBox(e)));
  // Publish
  const coll = h("input", { placeholder: t("cases.collection") });
  const publish = h("form", { class: "inline", on: { submit: (ev) => { ev.preventDefault(); void act(() => post(path + "/publish", { collection: coll.value }), render); } } },
    coll, h("button", { type: "submit" }, t("cases.publish")));
  const statusBtn = c.status === "open"
    ? button(t("cases.close"), () => void act(() => patch(path, { version: c.version, status: "closed" }), render))
    : button(t("cases.reopen"), () => void act(() => patch(path, { version: c.version, status: "open" }), render));
  return [
    h("p", { class: "case-head" }, tlpBadge(c.tlp), " ", h("strong", null, c.reference), " · ", t(("cases." + c.status) as Key), " · v", String(c.version), " · ", c.creator, c.keys.length ? " + " + c.keys.join(", ") : ""),
    h("h2", { class: "case-title" }, c.title),
    c.summary ? h("p", { class: "text" }, c.summary) : null,
    h("p", { class: "actions" },
      h("a", { href: path + "/report", attrs: { target: "_blank", rel: "noopener noreferrer" } }, t("cases.report")), " ",
      h("a", { href: path + "/report?format=pdf", attrs: { download: c.reference + ".pdf" } }, t("cases.pdf")), " ",
      me === c.creator || current()?.roles.includes("admin") ? statusBtn : null),
    h("div", { class: "case-grid" }, h("div", null, freezes, addresses, traces, seeds, attachments), h("div", null, notes, h("section", { class: "box" }, h("h2", null, t("cases.publish")), c.shares.map((s) => h("p", null, s.collection, " ", tlpBadge(s.tlp), " ", fmtTime(s.time))), publish))),
    timeline,
  ];
}

function freezeActions(f: Freeze, path: string, render: (c: Case) => void): HTMLElement {
  const el = h("span", { class: "freeze-actions" });
  for (const s of nextStatus[f.status] ?? []) {
    el.appendChild(button(t("cases.move", { status: t(("freeze." + s) as Key) }), () => {
      if (s === "frozen" || s === "released") {
        const info = assetInfo(f.chain, f.asset);
        const input = h("input", { placeholder: (s === "frozen" ? t("cases.amountFrozen") : t("cases.amountReleased")) + (info ? " (" + info.symbol + ")" : "") });
        const form = h("form", { class: "inline", on: { submit: (ev) => {
          ev.preventDefault();
          let amount = input.value.trim();
          try {
            if (amount && info) amount = parseUnits(amount, info.decimals);
          } catch (e) { toast(errorText(e), "error"); return; }
          void act(() => patch(`${path}/freezes/${enc(f.id)}`, { status: s, amount: amount || "0" }), render);
        } } }, input, h("button", { type: "submit" }, t("common.save")));
        clear(el);
        el.appendChild(form);
        input.focus();
        return;
      }
      void act(() => patch(`${path}/freezes/${enc(f.id)}`, { status: s }), render);
    }, "small"));
  }
  return el;
}
