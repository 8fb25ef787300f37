import { h, replace } from "../dom";
import { t, fmtTime } from "../i18n";
import { get } from "../api";
import { view, errorBox, loading, table, tlpBadge } from "../ui";
import { cleared } from "../session";

interface FeedItem {
  partner?: string;
  tlp?: string;
  marking?: string;
  time?: string;
  modified?: string;
  type?: string;
  name?: string;
  description?: string;
  id?: string;
}

// The shared-intelligence feed: what partners shared with this node,
// shown only up to the key's clearance (the node filters too).
export async function intelView(): Promise<void> {
  const list = h("div", null, loading());
  view(t("intel.title"), list);
  try {
    const b = await get<{ objects?: FeedItem[]; items?: FeedItem[] } | FeedItem[]>("/v1/intel/feed");
    const items = (Array.isArray(b) ? b : b.objects ?? b.items ?? []).filter((x) => cleared(x.tlp ?? x.marking ?? "TLP:RED"));
    replace(list, items.length === 0 ? h("p", { class: "muted" }, t("intel.empty")) :
      table([t("common.partner"), t("common.tlp"), t("common.time"), t("common.type"), t("common.name")],
        items.map((x) => [x.partner ?? "", tlpBadge(x.tlp ?? x.marking ?? ""), fmtTime(x.time ?? x.modified), x.type ?? "", h("span", { class: "text", title: x.description ?? "" }, x.name ?? x.id ?? "")]), "intel"));
  } catch (e) {
    replace(list, errorBox(e));
  }
}
