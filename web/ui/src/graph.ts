import cytoscape from "cytoscape";
import dagre from "cytoscape-dagre";
import { Model, type Link } from "./model";
import { ratio, amountText } from "./amount";
import { t } from "./i18n";

cytoscape.use(dagre);

// Graph draws a trace's money flow: hops left to right, edge widths by
// tainted amount, services and deposit addresses marked, large hops
// collapsed into one node until opened. Labels are drawn on the canvas
// as text, never as HTML.
export interface Selection {
  kind: "node" | "link" | "hop";
  key: string;
}

export const dagreLimit = 300;

export class Graph {
  cy: cytoscape.Core;
  collapsed = new Set<number>();
  later = Number.POSITIVE_INFINITY;

  constructor(
    private el: HTMLElement,
    private m: Model,
    private onSelect: (s: Selection) => void,
  ) {
    this.cy = cytoscape({
      container: el,
      minZoom: 0.02,
      maxZoom: 4,
      wheelSensitivity: 0.3,
      pixelRatio: 1,
      textureOnViewport: true,
      hideEdgesOnViewport: true,
      motionBlur: false,
      boxSelectionEnabled: false,
      style: style(),
    });
    this.cy.on("tap", "node", (ev) => {
      const id = ev.target.id() as string;
      if (id.startsWith("hop:")) {
        this.toggle(Number(id.slice(4)));
        this.onSelect({ kind: "hop", key: id.slice(4) });
      } else this.onSelect({ kind: "node", key: id });
    });
    this.cy.on("tap", "edge", (ev) => this.onSelect({ kind: "link", key: ev.target.data("link") as string }));
  }

  // collapseLarge collapses hops with more than max addresses when the
  // trace is large, so that the first view shows its shape at once.
  collapseLarge(max = 40): void {
    this.collapsed.clear();
    if (this.m.nodes.size <= 150) return;
    const count = new Map<number, number>();
    for (const n of this.m.nodes.values()) count.set(n.hop, (count.get(n.hop) ?? 0) + 1);
    for (const [hop, n] of count) if (hop > 0 && n > max) this.collapsed.add(hop);
  }

  toggle(hop: number): void {
    if (this.collapsed.has(hop)) this.collapsed.delete(hop);
    else this.collapsed.add(hop);
    this.draw();
  }

  expandAll(): void {
    this.collapsed.clear();
    this.draw();
  }

  // draw rebuilds the elements from the model and the collapsed hops.
  draw(): void {
    const m = this.m;
    const shown = (k: string) => {
      const n = m.nodes.get(k)!;
      return this.collapsed.has(n.hop) ? "hop:" + n.hop : k;
    };
    const nodes: cytoscape.ElementDefinition[] = [];
    const groups = new Map<number, number>();
    let drawn = 0;
    for (const n of m.nodes.values()) if (!this.collapsed.has(n.hop)) drawn++;
    const big = drawn > 2000;
    // Nodes stay where the layout puts them in a large graph, so that a
    // drag anywhere pans.
    this.cy.autoungrabify(big);
    for (const [k, n] of m.nodes) {
      if (this.collapsed.has(n.hop)) {
        groups.set(n.hop, (groups.get(n.hop) ?? 0) + 1);
        continue;
      }
      const cls = [n.seed ? "seed" : "", m.isService(n) ? "service" : "", m.isDeposit(n) ? "deposit" : "", n.frontier ? "frontier" : "", m.endpoints.has(k) ? "endpoint" : ""].join(" ");
      // A large graph names only seeds and services: ten thousand labels
      // cost more to draw than the graph itself.
      const label = n.label?.entity || (big && !n.seed ? "" : n.address.slice(0, 10) + "…");
      nodes.push({ group: "nodes", data: { id: k, label, hop: n.hop }, classes: cls });
    }
    for (const [hop, count] of groups) nodes.push({ group: "nodes", data: { id: "hop:" + hop, label: t("trace.hopGroup", { hop, n: count }), hop }, classes: "group" });
    const agg = new Map<string, { from: string; to: string; tainted: bigint; link: string; first: number }>();
    for (const l of m.links.values()) {
      const from = shown(l.from);
      const to = shown(l.to);
      if (from === to) continue;
      const id = from + ">" + to;
      const a = agg.get(id);
      if (a) {
        a.tainted += l.tainted;
        a.first = Math.min(a.first, l.first);
      } else agg.set(id, { from, to, tainted: l.tainted, link: l.id, first: l.first });
    }
    let max = 1n;
    for (const a of agg.values()) if (a.tainted > max) max = a.tainted;
    const edges: cytoscape.ElementDefinition[] = [];
    for (const [id, a] of agg) {
      const w = 1 + 11 * Math.sqrt(ratio(a.tainted.toString(), max.toString()));
      edges.push({ group: "edges", data: { id, source: a.from, target: a.to, w, link: a.link, first: a.first }, classes: agg.size > 2000 ? "fast" : "" });
    }
    this.cy.batch(() => {
      this.cy.elements().remove();
      this.cy.add(nodes);
      this.cy.add(edges);
    });
    this.layout();
    this.applyTime();
    // What is drawn, for tests and the curious: counts only.
    this.el.dataset.nodes = String(this.cy.nodes().length);
    this.el.dataset.edges = String(this.cy.edges().length);
    this.el.dataset.collapsed = String(this.collapsed.size);
  }

  layout(): void {
    const m = this.m;
    const n = this.cy.nodes().length;
    if (n <= dagreLimit) {
      // minlen keeps hops in their columns: an edge spans as many ranks as
      // hops.
      this.cy.edges().forEach((e) => {
        const d = e.target().data("hop") - e.source().data("hop");
        e.data("minlen", Math.max(0, d));
      });
      this.cy.layout({ name: "dagre", rankDir: "LR", nodeSep: 18, rankSep: 120, edgeSep: 6, minLen: (e: cytoscape.EdgeSingular) => e.data("minlen"), animate: false, fit: true, padding: 20 } as any).run();
      return;
    }
    const keys = this.cy.nodes().map((x) => x.id());
    const preds = new Map<string, string[]>();
    this.cy.edges().forEach((e) => {
      const l = preds.get(e.target().id()) ?? [];
      l.push(e.source().id());
      preds.set(e.target().id(), l);
    });
    const pos = m.columns(keys, (k) => this.cy.getElementById(k).data("hop") as number, (k) => preds.get(k) ?? []);
    this.cy.layout({ name: "preset", positions: (node: cytoscape.NodeSingular) => pos.get(node.id()) ?? { x: 0, y: 0 }, fit: true, padding: 20, animate: false } as any).run();
  }

  // setTime hides the flows after ms, and the addresses reached only by
  // them.
  setTime(ms: number): void {
    this.later = ms;
    this.applyTime();
  }

  private applyTime(): void {
    const limit = this.later;
    if (limit === Number.POSITIVE_INFINITY) {
      this.cy.elements(".later").removeClass("later");
      return;
    }
    this.cy.batch(() => {
      this.cy.edges().forEach((e) => {
        e.toggleClass("later", e.data("first") > limit);
      });
      this.cy.nodes().forEach((n) => {
        if (n.hasClass("seed")) return;
        const inc = n.incomers("edge");
        n.toggleClass("later", inc.length > 0 && inc.every((e) => (e as cytoscape.EdgeSingular).hasClass("later")));
      });
    });
  }

  select(key: string): void {
    const n = this.m.nodes.get(key);
    if (n && this.collapsed.has(n.hop)) {
      this.collapsed.delete(n.hop);
      this.draw();
    }
    const el = this.cy.getElementById(key);
    if (el.nonempty()) {
      this.cy.elements().unselect();
      el.select();
      this.cy.animate({ center: { eles: el }, zoom: Math.max(this.cy.zoom(), 0.8) }, { duration: 200 });
    }
  }

  highlight(edgeIdx: number[]): void {
    const ids = new Set<string>();
    for (const l of this.m.links.values()) if (l.edges.some((i) => edgeIdx.includes(i))) ids.add(l.from + ">" + l.to);
    this.cy.batch(() => {
      this.cy.elements().removeClass("path");
      for (const id of ids) this.cy.getElementById(id).addClass("path");
    });
  }

  destroy(): void {
    this.cy.destroy();
  }
}

export function linkText(m: Model, l: Link): string {
  return amountText(m.r.chain, m.r.edges[l.edges[0]]?.asset, l.tainted.toString());
}

function style(): cytoscape.StylesheetStyle[] {
  return [
    { selector: "node", style: { "background-color": "#64748b", label: "data(label)", "font-size": 10, color: "#0f172a", "text-valign": "bottom", "text-margin-y": 3, width: 16, height: 16, "min-zoomed-font-size": 7 } },
    { selector: "node.seed", style: { "background-color": "#dc2626", shape: "diamond", width: 24, height: 24 } },
    { selector: "node.service", style: { "background-color": "#1d4ed8", shape: "round-rectangle", width: 26, height: 18 } },
    { selector: "node.deposit", style: { "background-color": "#0891b2", "border-width": 3, "border-color": "#f59e0b" } },
    { selector: "node.frontier", style: { "border-width": 2, "border-style": "dashed", "border-color": "#7c3aed" } },
    { selector: "node.group", style: { shape: "round-rectangle", "background-color": "#e2e8f0", "border-width": 1, "border-color": "#64748b", width: 120, height: 30, "text-valign": "center", "text-margin-y": 0, "font-size": 11 } },
    { selector: "node:selected", style: { "border-width": 4, "border-color": "#f97316" } },
    { selector: "edge", style: { width: "data(w)", "line-color": "#a3b1c2", "target-arrow-color": "#a3b1c2", "target-arrow-shape": "triangle", "curve-style": "bezier", "arrow-scale": 0.8 } },
    { selector: "edge.fast", style: { "curve-style": "haystack", "target-arrow-shape": "none" } },
    { selector: "edge.path", style: { "line-color": "#f97316", "target-arrow-color": "#f97316", opacity: 1 } },
    { selector: "edge:selected", style: { "line-color": "#ea580c", "target-arrow-color": "#ea580c" } },
    { selector: ".later", style: { display: "none" } },
  ];
}
