// The trace result (trace.Result) and what the trace view derives from
// it: graph nodes keyed by address and asset, transfers aggregated per
// pair, the path back to a seed, hop columns. Kept free of the DOM and of
// Cytoscape so that it is tested on its own.

export interface Label {
  entity?: string;
  category?: string;
  heuristic?: string;
}
export interface TNode {
  address: string;
  asset?: string;
  hop: number;
  received: string;
  sent: string;
  remaining: string;
  label?: Label;
  frontier?: boolean;
  seed?: boolean;
  truncated?: boolean;
}
export interface TEdge {
  tx: string;
  kind?: number;
  pos?: number;
  block: number;
  time: string;
  from: string;
  to: string;
  amount: string;
  tainted: string;
  asset?: string;
  hop: number;
  swap?: boolean;
}
export interface Endpoint {
  address: string;
  label: Label;
  asset?: string;
  amount: string;
  first: string;
  last: string;
  txs: string[];
  hop: number;
  continues?: boolean;
}
export interface Hop {
  hop: number;
  asset?: string;
  addresses: number;
  transfers: number;
  tainted: string;
}
export interface Result {
  chain: string;
  asset?: string;
  model?: string;
  seeds?: unknown[];
  tainted: string;
  nodes: TNode[];
  edges: TEdge[];
  endpoints: Endpoint[];
  hops: Hop[];
  swaps?: { tx: string; venue: string; label: Label; to: string; asset: string; amount: string; tainted: string; time: string }[];
  warnings?: string[];
  through_block?: number;
}

export const nodeKey = (address: string, asset?: string) => address + "|" + (asset ?? "");

// Link is the transfers from one node to another, aggregated.
export interface Link {
  id: string;
  from: string;
  to: string;
  tainted: bigint;
  edges: number[]; // indices into Result.edges
  first: number; // earliest time, ms
}

export class Model {
  nodes = new Map<string, TNode>();
  byAddress = new Map<string, string[]>();
  links = new Map<string, Link>();
  incoming = new Map<string, number[]>(); // node key -> edge indices
  endpoints = new Set<string>();
  maxTainted = 0n;
  times: number[] = [];

  constructor(public r: Result) {
    for (const n of r.nodes ?? []) {
      const k = nodeKey(n.address, n.asset);
      this.nodes.set(k, n);
      const l = this.byAddress.get(n.address) ?? [];
      l.push(k);
      this.byAddress.set(n.address, l);
    }
    for (const e of r.endpoints ?? []) this.endpoints.add(nodeKey(e.address, e.asset));
    const times = new Set<number>();
    (r.edges ?? []).forEach((e, i) => {
      const from = this.resolve(e.from, e.asset, e.hop - 1);
      const to = this.resolve(e.to, e.asset, e.hop);
      const id = from + ">" + to;
      const ms = Date.parse(e.time);
      times.add(ms);
      let link = this.links.get(id);
      if (!link) {
        link = { id, from, to, tainted: 0n, edges: [], first: ms };
        this.links.set(id, link);
      }
      link.tainted += BigInt(e.tainted || "0");
      link.edges.push(i);
      if (ms < link.first) link.first = ms;
      if (link.tainted > this.maxTainted) this.maxTainted = link.tainted;
      const inc = this.incoming.get(to) ?? [];
      inc.push(i);
      this.incoming.set(to, inc);
    });
    this.times = [...times].filter((x) => !isNaN(x)).sort((a, b) => a - b);
  }

  // resolve finds the node of an edge's end: the address in the edge's
  // asset, else the address in any asset, else a node made for it (a
  // swap venue's payout side).
  resolve(address: string, asset: string | undefined, hop: number): string {
    const k = nodeKey(address, asset);
    if (this.nodes.has(k)) return k;
    const any = this.byAddress.get(address);
    if (any && any.length) return any[0];
    this.nodes.set(k, { address, asset, hop: Math.max(0, hop), received: "0", sent: "0", remaining: "0" });
    this.byAddress.set(address, [k]);
    return k;
  }

  isService(n: TNode): boolean {
    return !!n.label?.category || !!n.label?.entity;
  }

  isDeposit(n: TNode): boolean {
    return n.label?.heuristic === "deposit-address";
  }

  // path walks back from a node to a seed along the incoming transfer
  // that carried the most taint from an earlier hop.
  path(key: string): number[] {
    const out: number[] = [];
    const seen = new Set<string>([key]);
    let cur = key;
    for (let guard = 0; guard < 1000; guard++) {
      const n = this.nodes.get(cur);
      if (!n || n.seed) break;
      let best = -1;
      let bestV = -1n;
      for (const i of this.incoming.get(cur) ?? []) {
        const e = this.r.edges[i];
        const from = this.resolve(e.from, e.asset, e.hop - 1);
        if (seen.has(from)) continue;
        const v = BigInt(e.tainted || "0");
        if (v > bestV) {
          best = i;
          bestV = v;
        }
      }
      if (best < 0) break;
      out.unshift(best);
      const e = this.r.edges[best];
      cur = this.resolve(e.from, e.asset, e.hop - 1);
      seen.add(cur);
    }
    return out;
  }

  // columns lays nodes out by hop, left to right; within a hop, nodes are
  // ordered by the mean position of their predecessors (the barycentre
  // heuristic), so that flows cross as little as a quick pass allows.
  columns(keys: string[], hopOf: (k: string) => number, preds: (k: string) => string[], dx = 260, dy = 44): Map<string, { x: number; y: number }> {
    const byHop = new Map<number, string[]>();
    for (const k of keys) {
      const hp = hopOf(k);
      const l = byHop.get(hp) ?? [];
      l.push(k);
      byHop.set(hp, l);
    }
    const pos = new Map<string, { x: number; y: number }>();
    for (const hop of [...byHop.keys()].sort((a, b) => a - b)) {
      const col = byHop.get(hop) as string[];
      const score = new Map<string, number>();
      for (const k of col) {
        const ys = preds(k).map((p) => pos.get(p)?.y).filter((y): y is number => y !== undefined);
        score.set(k, ys.length ? ys.reduce((a, b) => a + b, 0) / ys.length : Number.MAX_SAFE_INTEGER);
      }
      col.sort((a, b) => (score.get(a) as number) - (score.get(b) as number) || a.localeCompare(b));
      col.forEach((k, i) => pos.set(k, { x: hop * dx, y: (i - (col.length - 1) / 2) * dy }));
    }
    return pos;
  }
}
