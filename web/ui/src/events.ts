import { t } from "./i18n";
import { toast } from "./ui";

// Live updates: server-sent events from GET /v1/events ("alert" and
// "watch" events), shown as they arrive and passed to whichever view
// listens. EventSource sends the session cookie and reconnects by itself.
type Listener = (type: string, data: any) => void;
const listeners = new Set<Listener>();
let source: EventSource | null = null;

export function onEvent(fn: Listener): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function status(on: boolean): void {
  const el = document.getElementById("live");
  if (!el) return;
  el.className = on ? "live on" : "live off";
  el.title = on ? t("events.connected") : t("events.disconnected");
  el.textContent = on ? "●" : "○";
}

export function startEvents(): void {
  if (source || typeof EventSource === "undefined") return;
  const s = new EventSource("/v1/events");
  source = s;
  s.onopen = () => status(true);
  s.onerror = () => {
    status(false);
    // A node without the endpoint answers 404 for good: stop asking.
    if (s.readyState === EventSource.CLOSED) stopEvents();
  };
  for (const type of ["alert", "watch"]) {
    s.addEventListener(type, (ev) => {
      let data: any;
      try {
        data = JSON.parse((ev as MessageEvent).data);
      } catch {
        return;
      }
      if (type === "alert") toast(t("alerts.new", { watch: String(data?.watch ?? ""), address: String(data?.address ?? "") }), "alert");
      else toast(t("alerts.watchEvent", { watch: String(data?.watch ?? data?.name ?? ""), what: String(data?.event ?? data?.status ?? "") }));
      for (const fn of listeners) fn(type, data);
    });
  }
}

export function stopEvents(): void {
  source?.close();
  source = null;
}
