package trace

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tracehound/tracehound/chain"
)

// named is a node with its address and asset as strings. Nodes are
// sorted by hop and address: the address after the prefix all share, as
// five words, settles the comparisons of addresses up to 40 bytes past
// it (an Ethereum address's 40 hex digits) without reading the strings;
// the sort moves small keys (order), not the nodes.
type named struct {
	n     *node
	addr  string
	asset chain.Asset
}

// hopKey names a hop's summary in one asset.
type hopKey struct {
	hop   int
	asset uint32
}

// hopSet holds the summaries: those of the traced asset by hop, the
// others in a map, as a summary is looked up for every node and edge.
type hopSet struct {
	asset uint32 // the traced asset
	main  []*Hop
	other map[hopKey]*Hop
}

func newHopSet(asset uint32) *hopSet { return &hopSet{asset: asset, other: make(map[hopKey]*Hop)} }

func (s *hopSet) get(h int, a uint32, nm *names) *Hop {
	if a == s.asset && h >= 0 && h < 1<<16 {
		for len(s.main) <= h {
			s.main = append(s.main, nil)
		}
		x := s.main[h]
		if x == nil {
			x = &Hop{Hop: h, Asset: nm.asset(a)}
			s.main[h] = x
		}
		return x
	}
	k := hopKey{h, a}
	x := s.other[k]
	if x == nil {
		x = &Hop{Hop: h, Asset: nm.asset(a)}
		s.other[k] = x
	}
	return x
}

// all calls fn with every summary and its asset's id.
func (s *hopSet) all(fn func(a uint32, h *Hop)) {
	for _, h := range s.main {
		if h != nil {
			fn(s.asset, h)
		}
	}
	for k, h := range s.other {
		fn(k.asset, h)
	}
}

func (s *hopSet) len() int {
	n := len(s.other)
	for _, h := range s.main {
		if h != nil {
			n++
		}
	}
	return n
}

// collect builds the result from the final state. The edges and the
// nodes are assembled at once, on two cores where there are.
func (t *tracer) collect() {
	res := t.res
	nm := t.v.names()
	var ins []arrival
	edgeHops := newHopSet(t.asset)
	var wg sync.WaitGroup
	wg.Add(1)
	enm := nm.fork()
	go func() {
		defer wg.Done()
		ins = t.collectEdges(&enm, edgeHops)
	}()
	hops := newHopSet(t.asset)
	nodes := t.ws.named[:0]
	common := -1
	var first string
	for _, n := range t.nodes.list {
		a := n.name
		if a == "" {
			a = nm.addr(n.addr)
		}
		if common < 0 {
			first, common = a, len(a)
		}
		common = min(common, len(a))
		for common > 0 && a[:common] != first[:common] {
			common--
		}
		nodes = append(nodes, named{n: n, addr: a, asset: nm.asset(n.asset)})
	}
	keys := slices.Grow(t.ws.keys[:0], len(nodes))[:len(nodes)]
	for i := range nodes {
		var pad [40]byte
		copy(pad[:], nodes[i].addr[common:])
		k := order{i: int32(i)}
		k.w[0] = uint64(int64(nodes[i].n.hop)) ^ 1<<63 // in signed order
		for j := range 5 {
			k.w[1+j] = binary.BigEndian.Uint64(pad[8*j:])
		}
		keys[i] = k
	}
	tmp := slices.Grow(t.ws.sortTmp[:0], len(keys))[:len(keys)]
	sortOrders(keys, tmp, func(a, b *order) int {
		x, y := &nodes[a.i], &nodes[b.i]
		if c := strings.Compare(x.addr, y.addr); c != 0 {
			return c
		}
		return strings.Compare(string(x.asset), string(y.asset))
	})
	t.ws.named, t.ws.keys, t.ws.sortTmp = nodes, keys, tmp
	res.Nodes = make([]Node, 0, t.nodes.len())
	for _, k := range keys {
		x := &nodes[k.i]
		n := x.n
		nd := Node{Address: x.addr, Asset: x.asset, Hop: n.hop, Label: n.label, Seed: n.seed, Truncated: n.truncated, Remaining: n.remaining}
		nd.Received = n.in.sum()
		if n.spent == nil {
			for i := range n.out {
				nd.Sent, _ = nd.Sent.Add(n.out[i].tainted)
			}
		} else {
			nd.Sent = *n.spent
		}
		if n.hop >= t.o.MaxHops && n.label == nil {
			nd.Frontier = true
		}
		if t.o.Model == Poison {
			nd.Remaining = chain.Amount{}
		}
		if n.truncated {
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s has more than %d transfers: only the first were replayed; label it as a service or raise the limit", x.addr, t.o.MaxPostings))
		}
		hops.get(n.hop, n.asset, &nm).Addresses++
		res.Nodes = append(res.Nodes, nd)
	}
	wg.Wait()
	edgeHops.all(func(a uint32, h *Hop) {
		x := hops.get(h.Hop, a, &nm)
		x.Transfers, x.Tainted = h.Transfers, h.Tainted
	})
	t.endpoints(ins, nodes, keys)
	slices.SortFunc(res.Endpoints, func(a, b Endpoint) int {
		if a.Asset != b.Asset {
			// The traced asset first.
			if a.Asset == res.Asset || b.Asset != res.Asset && a.Asset < b.Asset {
				return -1
			}
			return 1
		}
		if c := b.Amount.Cmp(a.Amount); c != 0 {
			return c
		}
		return strings.Compare(a.Address, b.Address)
	})
	// What entered: the seeds' tainted arrivals, less the part of them the
	// trace itself carried there (funds that came back round).
	for id, a := range t.seeds {
		res.Tainted, _ = res.Tainted.Add(a)
		res.Tainted = sub(res.Tainted, t.seedComputed[id])
	}
	if n := hops.len(); n > 0 {
		res.Hops = make([]Hop, 0, n)
	}
	hops.all(func(_ uint32, h *Hop) { res.Hops = append(res.Hops, *h) })
	slices.SortFunc(res.Hops, func(a, b Hop) int {
		if a.Hop != b.Hop {
			return a.Hop - b.Hop
		}
		return strings.Compare(string(a.Asset), string(b.Asset))
	})
	slices.Sort(res.Warnings)
}

// arrival is an edge into an endpoint: the node it reaches, and its place
// in the result's edges.
type arrival struct {
	n *node
	e int32
}

// collectEdges builds the result's edges, in block order, and their hops'
// summaries; it returns the edges into endpoints, in that order.
func (t *tracer) collectEdges(nm *names, hops *hopSet) []arrival {
	ne := len(t.swapOut)
	for _, n := range t.nodes.list {
		ne += len(n.out)
	}
	edges := slices.Grow(t.ws.edgeRefs[:0], ne)
	defer func() { t.ws.edgeRefs = edges }()
	for _, e := range t.swapOut {
		edges = append(edges, e)
	}
	for _, n := range t.nodes.list {
		for i := range n.out {
			edges = append(edges, &n.out[i])
		}
	}
	// A swap's payout is in the transaction of a tainted intake, whose
	// place in the block the intake's edge knows.
	if len(t.swapOut) > 0 {
		at := make(map[uint64]uint32)
		for _, e := range edges {
			if e.txi != noIndex {
				at[e.id.tx] = e.txi
			}
		}
		for _, e := range t.swapOut {
			if i, ok := at[e.id.tx]; ok {
				e.txi = i
			}
		}
	}
	// Chain order: block, then the transaction's place in it (its hash
	// where that is not known, the same for all of a transaction's
	// edges), then the transfer's. A transfer carries taint once, so the
	// order is total. The block and the place are the keys of a radix
	// sort; the hash and the transfer settle the ties.
	keys := slices.Grow(t.ws.edgeKeys[:0], len(edges))[:len(edges)]
	tmp := slices.Grow(t.ws.edgeTmp[:0], len(edges))[:len(edges)]
	t.ws.edgeKeys, t.ws.edgeTmp = keys, tmp
	for i, e := range edges {
		keys[i] = order{w: [6]uint64{e.block, uint64(e.txi)}, i: int32(i)}
	}
	sortOrders(keys, tmp, func(x, y *order) int {
		a, b := edges[x.i], edges[y.i]
		if a.id.tx != b.id.tx {
			if c := strings.Compare(nm.tx(a.id.tx), nm.tx(b.id.tx)); c != 0 {
				return c
			}
		}
		return cmp.Or(cmp.Compare(a.id.kind, b.id.kind), cmp.Compare(a.id.pos, b.id.pos))
	})
	t.res.Edges = make([]Edge, len(edges))
	ins := t.ws.arrivals[:0]
	defer func() { t.ws.arrivals = ins }()
	for i, k := range keys {
		e := edges[k.i]
		re := &t.res.Edges[i]
		*re = Edge{Tx: nm.tx(e.id.tx), Kind: e.id.kind, Pos: e.id.pos, Block: e.block, Time: time.Unix(e.sec, int64(e.nsec)).UTC(),
			Amount: e.amount, Tainted: e.tainted, Asset: nm.asset(e.asset), Hop: e.hop, Swap: e.swap}
		re.From = t.nodeName(nm, e.fromNode, e.from, e.asset)
		re.To = t.nodeName(nm, e.toNode, e.to, e.asset)
		h := hops.get(e.hop, e.asset, nm)
		h.Transfers++
		h.Tainted, _ = h.Tainted.Add(re.Tainted)
		if n := e.toNode; n != nil && n.label != nil {
			ins = append(ins, arrival{n, int32(i)})
		}
	}
	return ins
}

// nodeName is an address's name, as its node (n, or the one found) has
// it if it has one.
func (t *tracer) nodeName(nm *names, n *node, addr, asset uint32) string {
	if n == nil {
		n = t.nodes.get(nodeKey{addr, asset})
	}
	if n != nil && n.name != "" {
		return n.name
	}
	return nm.addr(addr)
}

// endpoints builds the result's endpoints from its labelled nodes, in
// the nodes' order (keys), with the edges into them (ins).
func (t *tracer) endpoints(ins []arrival, nodes []named, keys []order) {
	res := t.res
	neps := 0
	for i := range res.Nodes {
		if res.Nodes[i].Label != nil {
			nodes[keys[i].i].n.ep = int32(neps)
			neps++
		}
	}
	if neps == 0 {
		return
	}
	// Group the edges by endpoint (a counting sort, stable: each group
	// stays in block order), and give all the endpoints' transactions
	// one array.
	at := make([]int32, neps+1)
	for _, a := range ins {
		at[a.n.ep+1]++
	}
	for i := 1; i < len(at); i++ {
		at[i] += at[i-1]
	}
	next := slices.Clone(at[:neps])
	in := slices.Grow(t.ws.grouped[:0], len(ins))[:len(ins)]
	t.ws.grouped = in
	for _, a := range ins {
		in[next[a.n.ep]] = a.e
		next[a.n.ep]++
	}
	txs := make([]string, len(ins))
	res.Endpoints = make([]Endpoint, 0, neps)
	j := 0
	for i := range res.Nodes {
		nd := &res.Nodes[i]
		if nd.Label == nil {
			continue
		}
		from, to := at[j], at[j+1]
		ep := endpoint(nd, res.Edges, in[from:to], txs[from:to:to])
		if !t.o.NoSwaps && isVenue(nd.Label) {
			ep.Continues = true
		}
		res.Endpoints = append(res.Endpoints, ep)
		j++
	}
}

// endpoint makes node n's endpoint from the edges into it (indexes in
// edges), writing their transactions into txs, of their number.
func endpoint(n *Node, edges []Edge, in []int32, txs []string) Endpoint {
	ep := Endpoint{Address: n.Address, Label: *n.Label, Asset: n.Asset, Amount: n.Received, Hop: n.Hop}
	ep.Continues = n.Label.Category.Continues()
	if len(in) == 0 {
		return ep // Txs stays nil (null in JSON)
	}
	for k, i := range in {
		e := &edges[i]
		if ep.First.IsZero() || e.Time.Before(ep.First) {
			ep.First = e.Time
		}
		if e.Time.After(ep.Last) {
			ep.Last = e.Time
		}
		txs[k] = e.Tx
	}
	slices.Sort(txs)
	ep.Txs = slices.Compact(txs)
	return ep
}
