// History-API routing: the node serves the application for every path
// outside the API, so deep links work.
export type Handler = (params: Record<string, string>, query: URLSearchParams) => void | Promise<void>;

const routes: { pattern: RegExp; names: string[]; handler: Handler }[] = [];
let fallback: Handler = () => {};

export function route(path: string, handler: Handler): void {
  const names: string[] = [];
  const re = path.replace(/:([a-z]+)/g, (_, n) => {
    names.push(n);
    return "([^/]+)";
  });
  routes.push({ pattern: new RegExp("^" + re + "/?$"), names, handler });
}

export function otherwise(h: Handler): void {
  fallback = h;
}

export function go(path: string, replace = false): void {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  dispatch();
}

export function dispatch(): void {
  const p = location.pathname;
  const q = new URLSearchParams(location.search);
  for (const r of routes) {
    const m = r.pattern.exec(p);
    if (m) {
      const params: Record<string, string> = {};
      r.names.forEach((n, i) => (params[n] = decodeURIComponent(m[i + 1])));
      void r.handler(params, q);
      return;
    }
  }
  void fallback({}, q);
}

// Links inside the application navigate without reloading.
export function listen(): void {
  window.addEventListener("popstate", dispatch);
  document.addEventListener("click", (ev) => {
    const a = (ev.target as Element | null)?.closest?.("a");
    if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || a.target) return;
    const href = a.getAttribute("href");
    if (!href || !href.startsWith("/") || href.startsWith("//") || href.startsWith("/v1/") || a.hasAttribute("download")) return;
    ev.preventDefault();
    go(href);
  });
}
