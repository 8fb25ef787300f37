import { describe, expect, it } from "vitest";
import { Model, nodeKey, type Result } from "./model";

const r: Result = {
  chain: "eth",
  tainted: "100",
  nodes: [
    { address: "s", hop: 0, received: "100", sent: "100", remaining: "0", seed: true },
    { address: "a", hop: 1, received: "60", sent: "60", remaining: "0" },
    { address: "b", hop: 1, received: "40", sent: "40", remaining: "0" },
    { address: "x", hop: 2, received: "100", sent: "0", remaining: "100", label: { entity: "Exchange", category: "exchange", heuristic: "deposit-address" } },
  ],
  edges: [
    { tx: "t1", block: 1, time: "2025-02-21T14:13:00Z", from: "s", to: "a", amount: "60", tainted: "60", hop: 1 },
    { tx: "t2", block: 1, time: "2025-02-21T14:13:00Z", from: "s", to: "b", amount: "40", tainted: "40", hop: 1 },
    { tx: "t3", block: 2, time: "2025-02-21T15:00:00Z", from: "a", to: "x", amount: "60", tainted: "60", hop: 2 },
    { tx: "t4", block: 3, time: "2025-02-21T16:00:00Z", from: "b", to: "x", amount: "40", tainted: "40", hop: 2 },
    { tx: "t5", block: 4, time: "2025-02-21T17:00:00Z", from: "b", to: "x", amount: "1", tainted: "1", hop: 2 },
  ],
  endpoints: [{ address: "x", label: { entity: "Exchange", category: "exchange" }, amount: "100", first: "", last: "", txs: ["t3", "t4"], hop: 2 }],
  hops: [],
};

describe("trace model", () => {
  const m = new Model(r);
  it("aggregates transfers per pair, exactly", () => {
    const l = m.links.get(nodeKey("b") + ">" + nodeKey("x"))!;
    expect(l.tainted).toBe(41n);
    expect(l.edges).toEqual([3, 4]);
    expect(m.maxTainted).toBe(60n);
    expect(m.times.length).toBe(4);
  });
  it("walks back along the largest taint", () => {
    expect(m.path(nodeKey("x")).map((i) => r.edges[i].tx)).toEqual(["t1", "t3"]);
    expect(m.path(nodeKey("s"))).toEqual([]);
  });
  it("marks deposit addresses and services", () => {
    const x = m.nodes.get(nodeKey("x"))!;
    expect(m.isDeposit(x) && m.isService(x)).toBe(true);
    expect(m.endpoints.has(nodeKey("x"))).toBe(true);
  });
  it("lays hops out left to right", () => {
    const keys = [...m.nodes.keys()];
    const pos = m.columns(keys, (k) => m.nodes.get(k)!.hop, (k) => [...m.links.values()].filter((l) => l.to === k).map((l) => l.from));
    expect(pos.get(nodeKey("s"))!.x).toBeLessThan(pos.get(nodeKey("a"))!.x);
    expect(pos.get(nodeKey("a"))!.x).toBe(pos.get(nodeKey("b"))!.x);
    expect(pos.get(nodeKey("a"))!.x).toBeLessThan(pos.get(nodeKey("x"))!.x);
  });
});
