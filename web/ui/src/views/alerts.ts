import { h, replace, short } from "../dom";
import { t, fmtTime } from "../i18n";
import { get, post, patch, enc, absent } from "../api";
import { amountEl } from "../amount";
import { view, errorBox, loading, button, toast, errorText } from "../ui";
import { current } from "../session";
import { onEvent } from "../events";
import { keep } from "../drafts";
import { go } from "../router";

export interface Alert {
  id?: string;
  watch: string;
  chain: string;
  address: string;
  label?: { entity?: string; category?: string; heuristic?: string };
  asset?: string;
  amount: string;
  previous?: string;
  txs?: string[];
  last_arrival?: string;
  raised: string;
  status?: string;
  assignee?: string;
  reason?: string;
}

// alertID is the alert's id, or one made of what identifies it when the
// node gives none.
export function alertID(a: Alert): string {
  return a.id ?? a.watch + "|" + a.address + "|" + a.raised;
}

export async function alertsView(): Promise<void> {
  const list = h("div", { class: "alerts" }, loading());
  view(t("alerts.title"), list);
  let alerts: Alert[] = [];
  const draw = () => replace(list, alerts.length === 0 ? h("p", { class: "muted" }, t("common.none")) : alerts.map(card));
  const card = (a: Alert): HTMLElement => {
    const id = alertID(a);
    const reason = h("input", { placeholder: t("alerts.reason") });
    const forget = keep(reason, "dismiss." + id);
    const setStatus = async (body: Record<string, string>) => {
      try {
        const r = await patch<Alert>("/v1/alerts/" + enc(id), body);
        Object.assign(a, r ?? body);
        forget();
        draw();
      } catch (e) {
        toast(absent(e) ? t("common.notAvailable") : errorText(e), "error");
      }
    };
    const status = a.status === "assigned" ? t("alerts.assigned", { who: a.assignee ?? "" }) : a.status === "dismissed" ? t("alerts.dismissed") : a.status === "escalated" ? t("alerts.escalated") : "";
    return h(
      "article",
      { class: "alert-card" + (a.status ? " status-" + a.status : ""), data: { id } },
      h("p", { class: "meta" }, h("strong", null, a.watch), " · ", fmtTime(a.raised), status ? " · " + status : ""),
      h("p", null, a.label?.entity ? h("span", { class: "entity" }, a.label.entity, " ") : null, a.label?.category ? h("span", { class: "cat" }, a.label.category, " ") : null,
        a.label?.heuristic ? h("span", { class: "cat" }, a.label.heuristic, " ") : null,
        h("a", { href: "/address/" + enc(a.chain) + "/" + enc(a.address) }, short(a.address, 10)), " ", amountEl(a.chain, a.asset, a.amount)),
      a.reason ? h("p", { class: "muted text" }, a.reason) : null,
      h("p", { class: "actions" },
        button(t("alerts.assign"), () => void setStatus({ status: "assigned", assignee: current()?.name ?? "" }), "small"),
        reason,
        button(t("alerts.dismiss"), () => { if (reason.value.trim()) void setStatus({ status: "dismissed", reason: reason.value.trim() }); else reason.focus(); }, "small"),
        button(t("alerts.openCase"), async () => {
          try {
            const ref = ("ALERT-" + a.watch + "-" + a.raised.slice(0, 10)).replace(/[^A-Za-z0-9._/-]/g, "-").slice(0, 64);
            const c = await post<{ id: string }>("/v1/cases", { reference: ref, title: a.watch + ": " + (a.label?.entity ?? a.address), addresses: [{ chain: a.chain, address: a.address, role: "deposit" }] });
            await post(`/v1/cases/${enc(c.id)}/alerts`, { id, watch: a.watch, chain: a.chain, address: a.address });
            await post(`/v1/cases/${enc(c.id)}/watches`, { name: a.watch }).catch(() => undefined);
            await patch("/v1/alerts/" + enc(id), { status: "escalated" }).catch(() => undefined);
            go("/cases/" + enc(c.id));
          } catch (e) {
            toast(errorText(e), "error");
          }
        }, "small"),
      ),
    );
  };
  try {
    const b = await get<{ alerts: Alert[] }>("/v1/alerts?limit=1000");
    alerts = (b.alerts ?? []).slice().reverse();
    draw();
  } catch (e) {
    replace(list, errorBox(e));
    return;
  }
  const stop = onEvent((type, data) => {
    if (!document.body.contains(list)) {
      stop();
      return;
    }
    if (type === "alert" && data && data.address) {
      alerts.unshift(data as Alert);
      draw();
    }
  });
}
