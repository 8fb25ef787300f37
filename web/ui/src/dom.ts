// DOM construction that never parses HTML: every string becomes a text
// node, attributes are set one by one, and links are checked. Labels,
// notes and names from partners go through here and nowhere else, so
// nothing they hold can run.

export type Child = Node | string | number | bigint | null | undefined | false | Child[];

export interface Props {
  class?: string;
  id?: string;
  title?: string;
  href?: string;
  type?: string;
  value?: string;
  placeholder?: string;
  name?: string;
  for?: string;
  disabled?: boolean;
  checked?: boolean;
  selected?: boolean;
  attrs?: Record<string, string>;
  data?: Record<string, string>;
  on?: Partial<{ [K in keyof HTMLElementEventMap]: (ev: HTMLElementEventMap[K]) => void }>;
}

const forbiddenAttr = /^(on|style$|srcdoc$|formaction$)/i;

// safeHref allows the node's own paths and http(s) links only:
// javascript:, data: and the like become inert.
export function safeHref(href: string): string {
  const s = href.trim();
  if (s.startsWith("/") && !s.startsWith("//")) return s;
  if (s.startsWith("#") || s.startsWith("?")) return s;
  try {
    const u = new URL(s);
    if (u.protocol === "https:" || u.protocol === "http:") return u.href;
  } catch {
    /* not a URL */
  }
  return "#";
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props?: Props | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props) {
    if (props.class) el.className = props.class;
    if (props.id) el.id = props.id;
    if (props.title !== undefined) el.title = props.title;
    if (props.href !== undefined) el.setAttribute("href", safeHref(props.href));
    if (props.type !== undefined) el.setAttribute("type", props.type);
    if (props.name !== undefined) el.setAttribute("name", props.name);
    if (props.for !== undefined) el.setAttribute("for", props.for);
    if (props.placeholder !== undefined) el.setAttribute("placeholder", props.placeholder);
    if (props.value !== undefined) (el as unknown as HTMLInputElement).value = props.value;
    if (props.disabled) (el as unknown as HTMLButtonElement).disabled = true;
    if (props.checked) (el as unknown as HTMLInputElement).checked = true;
    if (props.selected) (el as unknown as HTMLOptionElement).selected = true;
    for (const [k, v] of Object.entries(props.attrs ?? {})) {
      if (forbiddenAttr.test(k)) throw new Error("attribute " + k + " is not allowed");
      el.setAttribute(k, v);
    }
    for (const [k, v] of Object.entries(props.data ?? {})) el.dataset[k] = v;
    for (const [k, fn] of Object.entries(props.on ?? {})) el.addEventListener(k, fn as EventListener);
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

export function clear(el: Node): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

export function replace(el: Node, ...children: Child[]): void {
  clear(el);
  append(el, children);
}

// short writes a long identifier as its ends, the whole in the title.
export function short(s: string, keep = 8): HTMLElement {
  const text = s.length > keep * 2 + 3 ? s.slice(0, keep + 2) + "…" + s.slice(-keep) : s;
  return h("span", { class: "mono", title: s }, text);
}
