package trace

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tracehound/tracehound/bridge"
	"github.com/tracehound/tracehound/bridge/thorchain"
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/tags"
)

// Funds leave a chain through bridges and cross-chain swaps (THORChain,
// Across, cBridge): a deposit into the bridge's contract on one chain, a
// payout by the bridge on another. The graph keeps both sides as the
// chains record them (the deposit event with its memo or recipient, the
// payout that names the deposit: THORChain's OUT:<inbound hash>, an
// Across fill's deposit id), so the link is exact: a trace that reaches
// a bridge contract with a recorded deposit goes on, as a new hop, from
// the payout on the destination chain, in the asset paid out. The
// payout is tainted in the share of the deposit that was tainted
// (poison: in full), each of its transfers rounded down:
//
//	tainted out = paid × tainted in ÷ deposited
//
// Each destination is traced as a leg: a trace of its own chain and
// asset, seeded with the payouts, whose hops continue the source's. Its
// nodes, edges, endpoints, hops and swaps join the result, marked with
// their chain; Result.Crossings records each link, and Result.Legs what
// entered each leg. A deposit that cannot be followed (a memo that does
// not parse, a destination the graph does not hold, no payout yet) ends
// the branch at the bridge, with the reason: nothing is guessed.

// BridgeGraph is the part of the graph that holds bridge links (the
// store, its traversal and the cache over them).
type BridgeGraph interface {
	BridgeDeposits(ctx context.Context, c chain.Chain, tx string) ([]chain.BridgeDeposit, error)
	BridgePayouts(ctx context.Context, c chain.Chain, key string) ([]chain.BridgePayout, error)
	BridgeContracts(ctx context.Context, c chain.Chain) (map[string]string, error)
}

// bridgeBatcher is a BridgeGraph that reads many deposits or payouts at
// once (the store and its traversal, with one iterator): a trace asks
// for all that a leg reached together.
type bridgeBatcher interface {
	BridgeDepositsOf(ctx context.Context, c chain.Chain, txs []string) (map[string][]chain.BridgeDeposit, error)
	BridgePayoutsOf(ctx context.Context, c chain.Chain, keys []string) (map[string][]chain.BridgePayout, error)
}

// Crossing statuses.
const (
	// CrossFollowed: the payout was found and traced on.
	CrossFollowed = "followed"
	// CrossUnreadable: the deposit's event or memo does not parse.
	CrossUnreadable = "unreadable"
	// CrossStays: the memo keeps the funds inside the bridge (THORChain
	// liquidity, synths, trade accounts).
	CrossStays = "stays"
	// CrossNotHeld: the destination chain is not in the graph.
	CrossNotHeld = "not-held"
	// CrossNoPayout: no payout of the deposit is in the graph (yet).
	CrossNoPayout = "no-payout"
	// CrossHopLimit: the payout lies past the hop limit.
	CrossHopLimit = "hop-limit"
	// CrossDust: what the payout carries is below the dust limit.
	CrossDust = "dust"
)

// Crossing is a deposit into a bridge that the trace reached: what was
// deposited and how much of it was tainted, where the bridge was asked
// to pay, and, when it was followed, the payout.
type Crossing struct {
	Bridge string `json:"bridge"`
	// Via says the link as a person reads it: "THORChain swap, memo
	// =:BTC.BTC:bc1q…".
	Via    string `json:"via"`
	Status string `json:"status"`
	// Reason says why a crossing was not followed.
	Reason string `json:"reason,omitempty"`
	// Hop is the bridge's hop; the payout's recipients are one further.
	Hop int `json:"hop"`
	// The deposit, on the source chain: the contract that took it (the
	// endpoint) and who paid it.
	FromChain  chain.Chain  `json:"from_chain"`
	Contract   string       `json:"contract"`
	From       string       `json:"from"`
	DepositTx  string       `json:"deposit_tx"`
	DepositLog uint32       `json:"deposit_log"`
	Block      uint64       `json:"block"`
	Time       time.Time    `json:"time"`
	InAsset    chain.Asset  `json:"in_asset,omitempty"`
	In         chain.Amount `json:"in"`
	InTainted  chain.Amount `json:"in_tainted"`
	Memo       string       `json:"memo,omitempty"`
	Key        string       `json:"key,omitempty"`
	// DestChain and Recipient are the destination as the bridge's event
	// names it; ToChain is the graph's chain for it.
	DestChain string      `json:"dest_chain,omitempty"`
	Recipient string      `json:"recipient,omitempty"`
	ToChain   chain.Chain `json:"to_chain,omitempty"`
	// Out are the payout's transfers, each in its own asset.
	Out []CrossOut `json:"out,omitempty"`
}

// CrossOut is one transfer of a bridge's payout.
type CrossOut struct {
	Tx    string             `json:"tx"`
	Kind  chain.TransferKind `json:"kind"`
	Pos   uint32             `json:"pos"`
	Block uint64             `json:"block"`
	Time  time.Time          `json:"time"`
	// From is who paid (the vault, the relayer); To the recipient.
	From    string       `json:"from,omitempty"`
	To      string       `json:"to"`
	Asset   chain.Asset  `json:"asset,omitempty"`
	Amount  chain.Amount `json:"amount"`
	Tainted chain.Amount `json:"tainted"`
	// Refund is the bridge giving the deposit back.
	Refund bool   `json:"refund,omitempty"`
	Memo   string `json:"memo,omitempty"`
}

// Leg is the part of a trace on the far side of bridges: one chain and
// asset, entered through the payouts of Result.Crossings.
type Leg struct {
	Chain chain.Chain `json:"chain"`
	Asset chain.Asset `json:"asset,omitempty"`
	// Hop is the first hop the leg's payouts reached.
	Hop int `json:"hop"`
	// Entered is the taint the payouts brought, less any that came back
	// round to them (as Result.Tainted for the seeds).
	Entered     chain.Amount `json:"entered"`
	FeesTainted chain.Amount `json:"fees_tainted"`
	// Through is the last block of the chain the store held.
	Through uint64 `json:"through_block"`
}

// legKey names a leg to run: a chain and an asset.
type legKey struct {
	c     chain.Chain
	asset chain.Asset
}

// crosser follows a trace across bridges.
type crosser struct {
	g   Graph
	bg  BridgeGraph
	o   Options
	res *Result
	// contracts are each chain's bridge contracts; held the chains the
	// graph has a tip for.
	contracts map[chain.Chain]map[string]string
	held      map[chain.Chain]bool
	// done are the deposits already linked, by chain, tx and log.
	done map[depositKey]bool
	// nodes counts the addresses tainted in all legs, against MaxAddresses.
	nodes int
	// queued seeds of the next round's legs, and the dust limit of each.
	queued map[legKey]*legSeeds
	minFor map[legKey]chain.Amount
	// payouts are the payout transactions read, shared with the legs.
	payouts *payoutTxs
	// paid are payout records read ahead, by chain and key.
	paid map[string][]chain.BridgePayout
}

type depositKey struct {
	c   chain.Chain
	tx  string
	log uint32
}

// legSeeds are a leg's seeds, merged per payout transfer target.
type legSeeds struct {
	hop   int
	seeds []Seed
	at    map[seedKey]int
}

type seedKey struct {
	tx, addr string
	out      uint32
	utxo     bool
}

// Run traces forward from the seeds. On a graph that holds bridge links
// (BridgeGraph) and unless Options.NoBridges, it goes on across the
// bridges it reaches, into the chains and assets they paid out in.
func Run(ctx context.Context, g Graph, seeds []Seed, o Options) (*Result, error) {
	start := time.Now()
	bg, ok := g.(BridgeGraph)
	if !ok || o.NoBridges {
		return runLeg(ctx, g, seeds, o)
	}
	if o.MaxHops <= 0 {
		o.MaxHops = DefaultMaxHops
	}
	if o.MaxAddresses <= 0 {
		o.MaxAddresses = DefaultMaxAddresses
	}
	x := &crosser{g: g, bg: bg, o: o, contracts: make(map[chain.Chain]map[string]string), held: make(map[chain.Chain]bool),
		done: make(map[depositKey]bool), queued: make(map[legKey]*legSeeds), minFor: make(map[legKey]chain.Amount),
		payouts: &payoutTxs{utxo: make(map[string]utxoRead), acct: make(map[string][]chain.Transfer)}, paid: make(map[string][]chain.BridgePayout)}
	lo := o
	var err error
	if lo.bridges, err = x.bridgesOf(ctx, o.Chain); err != nil {
		return nil, err
	}
	res, err := runLeg(ctx, g, seeds, lo)
	if err != nil {
		return nil, err
	}
	x.res, x.nodes = res, len(res.Nodes)
	if err := x.crossings(ctx, o.Chain, 0, 0); err != nil {
		return nil, err
	}
	for round := 0; len(x.queued) > 0; round++ {
		if round == maxCrossRounds {
			res.Warnings = append(res.Warnings, fmt.Sprintf("bridges were crossed %d times over and the trace still went on: later crossings were not followed", maxCrossRounds))
			break
		}
		keys := make([]legKey, 0, len(x.queued))
		for k := range x.queued {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b legKey) int {
			return cmp.Or(strings.Compare(string(a.c), string(b.c)), strings.Compare(string(a.asset), string(b.asset)))
		})
		queued := x.queued
		x.queued = make(map[legKey]*legSeeds)
		for _, k := range keys {
			if err := x.leg(ctx, k, queued[k]); err != nil {
				return nil, err
			}
		}
	}
	if o.Instant != nil {
		if err := x.candidates(ctx); err != nil {
			return nil, err
		}
	}
	slices.Sort(res.Warnings)
	res.Warnings = slices.Compact(res.Warnings)
	res.Elapsed = time.Since(start)
	return res, nil
}

// maxCrossRounds bounds how often legs are chained: each round crosses
// at least one more bridge.
const maxCrossRounds = 16

// bridgesOf returns chain c's bridge contracts, read once.
func (x *crosser) bridgesOf(ctx context.Context, c chain.Chain) (map[string]string, error) {
	if m, ok := x.contracts[c]; ok {
		return m, nil
	}
	m, err := x.bg.BridgeContracts(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("trace: bridge contracts of %s: %w", c, err)
	}
	x.contracts[c] = m
	return m, nil
}

// isHeld reports whether the graph holds chain c.
func (x *crosser) isHeld(ctx context.Context, c chain.Chain) (bool, error) {
	if ok, seen := x.held[c]; seen {
		return ok, nil
	}
	_, ok, err := x.g.Tip(ctx, c)
	if err != nil {
		return false, err
	}
	x.held[c] = ok
	return ok, nil
}

// leg runs one leg from its seeds and joins it to the result.
func (x *crosser) leg(ctx context.Context, k legKey, ls *legSeeds) error {
	o := x.o
	o.Chain, o.Asset, o.MinAmount, o.payouts = k.c, k.asset, x.minFor[k], x.payouts
	if o.MaxAddresses -= x.nodes; o.MaxAddresses <= 0 {
		return fmt.Errorf("%w: more than %d addresses tainted before the trace crossed into %s (raise the cap, lower the hops or set a dust limit)", ErrTooLarge, x.o.MaxAddresses, k.c)
	}
	var err error
	if o.bridges, err = x.bridgesOf(ctx, k.c); err != nil {
		return err
	}
	r, err := runLeg(ctx, x.g, ls.seeds, o)
	if err != nil {
		return fmt.Errorf("trace across into %s: %w", k.c, err)
	}
	x.nodes += len(r.Nodes)
	res := x.res
	mark := k.c
	if mark == res.Chain {
		mark = "" // the result's chain is named once, at the top
	}
	firstEdge, firstEp := len(res.Edges), len(res.Endpoints)
	for _, n := range r.Nodes {
		n.Chain, n.Seed = mark, false
		res.Nodes = append(res.Nodes, n)
	}
	for _, e := range r.Edges {
		e.Chain = mark
		res.Edges = append(res.Edges, e)
	}
	for _, e := range r.Endpoints {
		e.Chain = mark
		res.Endpoints = append(res.Endpoints, e)
	}
	firstHop := len(res.Hops)
	for _, h := range r.Hops {
		h.Chain = mark
		res.Hops = append(res.Hops, h)
	}
	// The payouts are the transfers into the leg's first addresses: its
	// seeds' hops count them, as a hop counts the transfers that reached
	// it, where a trace's own seeds have none.
	for _, s := range ls.seeds {
		i := slices.IndexFunc(res.Hops[firstHop:], func(h Hop) bool { return h.Hop == s.hop })
		if i < 0 {
			res.Hops = append(res.Hops, Hop{Hop: s.hop, Chain: mark, Asset: k.asset})
			i = len(res.Hops) - 1 - firstHop
		}
		h := &res.Hops[firstHop+i]
		h.Transfers++
		h.Tainted, _ = h.Tainted.Add(s.Amount)
	}
	slices.SortStableFunc(res.Hops, func(a, b Hop) int { return a.Hop - b.Hop })
	for _, s := range r.Swaps {
		s.Chain = mark
		res.Swaps = append(res.Swaps, s)
	}
	for _, w := range r.Warnings {
		res.Warnings = append(res.Warnings, fmt.Sprintf("on %s: %s", k.c, w))
	}
	res.Legs = append(res.Legs, Leg{Chain: k.c, Asset: k.asset, Hop: ls.hop, Entered: r.Tainted, FeesTainted: r.FeesTainted, Through: r.Through})
	// A payout straight into a service: the endpoint's arrival is the
	// payout itself, which the leg saw as a seed.
	for i := firstEp; i < len(res.Endpoints); i++ {
		ep := &res.Endpoints[i]
		if len(ep.Txs) > 0 {
			continue
		}
		for _, c := range res.Crossings {
			for _, out := range c.Out {
				if c.ToChain == k.c && out.To == ep.Address && out.Asset == ep.Asset {
					ep.Txs = append(ep.Txs, out.Tx)
					if ep.First.IsZero() || out.Time.Before(ep.First) {
						ep.First = out.Time
					}
					if out.Time.After(ep.Last) {
						ep.Last = out.Time
					}
				}
			}
		}
		slices.Sort(ep.Txs)
		ep.Txs = slices.Compact(ep.Txs)
	}
	return x.crossings(ctx, k.c, firstEdge, firstEp)
}

// crossings finds the deposits among the edges into bridge contracts of
// chain c (the result's edges and endpoints from the given places on,
// which are the last leg's) and queues their payouts as the seeds of
// the next legs.
func (x *crosser) crossings(ctx context.Context, c chain.Chain, firstEdge, firstEp int) error {
	res := x.res
	contracts := x.contracts[c]
	mark := c
	if mark == res.Chain {
		mark = ""
	}
	type epKey struct {
		addr  string
		asset chain.Asset
	}
	eps := make(map[epKey]int)
	for i := firstEp; i < len(res.Endpoints); i++ {
		ep := &res.Endpoints[i]
		if _, ok := contracts[ep.Address]; ok && ep.Chain == mark {
			eps[epKey{ep.Address, ep.Asset}] = i
		}
	}
	if len(eps) == 0 {
		return nil
	}
	deps := make(map[string][]chain.BridgeDeposit)
	var txs []string
	for i := firstEdge; i < len(res.Edges); i++ {
		e := &res.Edges[i]
		if _, ok := eps[epKey{e.To, e.Asset}]; ok && e.Chain == mark {
			txs = append(txs, e.Tx)
		}
	}
	if err := x.readAhead(ctx, c, txs, deps); err != nil {
		return err
	}
	for i := firstEdge; i < len(res.Edges); i++ {
		e := &res.Edges[i]
		ei, ok := eps[epKey{e.To, e.Asset}]
		if !ok || e.Chain != mark {
			continue
		}
		ds, ok := deps[e.Tx]
		if !ok {
			var err error
			if ds, err = x.bg.BridgeDeposits(ctx, c, e.Tx); err != nil {
				return fmt.Errorf("trace: bridge deposits of %s: %w", e.Tx, err)
			}
			deps[e.Tx] = ds
		}
		d, ok := x.match(c, e, ds)
		if !ok {
			continue
		}
		i, err := x.cross(ctx, c, e, d)
		if err != nil {
			return err
		}
		ep := &res.Endpoints[ei]
		ep.Crossings = append(ep.Crossings, i)
	}
	// An endpoint at a bridge goes on only where a crossing was followed;
	// one whose deposits all ended says so through its crossings.
	for _, ei := range eps {
		ep := &res.Endpoints[ei]
		if len(ep.Crossings) == 0 {
			continue
		}
		ep.Continues = false
		for _, i := range ep.Crossings {
			if res.Crossings[i].Status == CrossFollowed {
				ep.Continues = true
			}
		}
	}
	return nil
}

// readAhead reads, on a graph that reads many at once, the deposits of
// transactions txs of chain c into deps, and the payouts they may have
// (on their destination, and refunds on c) into x.paid: with one
// iterator for each rather than one for each deposit.
func (x *crosser) readAhead(ctx context.Context, c chain.Chain, txs []string, deps map[string][]chain.BridgeDeposit) error {
	bb, ok := x.bg.(bridgeBatcher)
	if !ok || len(txs) < 2 {
		return nil
	}
	got, err := bb.BridgeDepositsOf(ctx, c, txs)
	if err != nil {
		return fmt.Errorf("trace: bridge deposits on %s: %w", c, err)
	}
	networks := x.o.Networks
	if networks == nil {
		networks = bridge.GraphChain
	}
	keys := make(map[chain.Chain][]string)
	for tx, ds := range got {
		deps[tx] = ds
		for _, d := range ds {
			if d.Err != "" || d.Key == "" {
				continue
			}
			if to, known := networks(d.DestChain); known {
				if held, err := x.isHeld(ctx, to); err != nil {
					return err
				} else if held {
					keys[to] = append(keys[to], d.Key)
				}
				if to != c {
					keys[c] = append(keys[c], d.Key)
				}
			}
		}
	}
	for pc, ks := range keys {
		ps, err := bb.BridgePayoutsOf(ctx, pc, ks)
		if err != nil {
			return fmt.Errorf("trace: bridge payouts on %s: %w", pc, err)
		}
		for k, p := range ps {
			x.paid[txKey(pc, k)] = p
		}
	}
	return nil
}

// payoutsOf returns the payouts under key on chain c, read ahead or now.
func (x *crosser) payoutsOf(ctx context.Context, c chain.Chain, key string) ([]chain.BridgePayout, error) {
	if ps, ok := x.paid[txKey(c, key)]; ok {
		return ps, nil
	}
	ps, err := x.bg.BridgePayouts(ctx, c, key)
	if err != nil {
		return nil, fmt.Errorf("trace: payouts of %s: %w", key, err)
	}
	return ps, nil
}

// match finds the deposit an edge into a bridge contract made: in its
// transaction, taken by the contract the edge paid, of the edge's amount
// and asset (or the edge paid the coin and the event names the token
// that wraps it, as native deposits into Across and cBridge do). Among
// several alike, the first not yet linked, in log order.
func (x *crosser) match(c chain.Chain, e *Edge, ds []chain.BridgeDeposit) (chain.BridgeDeposit, bool) {
	for _, exact := range []bool{true, false} {
		for _, d := range ds {
			if d.Contract != e.To || x.done[depositKey{c, d.Tx, d.Log}] {
				continue
			}
			if d.Err == "" || !d.Amount.IsZero() {
				if d.Amount.Cmp(e.Amount) != 0 {
					continue
				}
			}
			if exact && d.Asset != e.Asset || !exact && e.Asset != chain.Native {
				continue
			}
			x.done[depositKey{c, d.Tx, d.Log}] = true
			return d, true
		}
	}
	return chain.BridgeDeposit{}, false
}

// cross records the crossing of deposit d, reached by edge e on chain c,
// and queues its payout. It returns the crossing's place.
func (x *crosser) cross(ctx context.Context, c chain.Chain, e *Edge, d chain.BridgeDeposit) (int, error) {
	res := x.res
	cr := Crossing{Bridge: d.Bridge, Hop: e.Hop, FromChain: c, Contract: d.Contract, From: e.From, DepositTx: d.Tx, DepositLog: d.Log,
		Block: e.Block, Time: e.Time, InAsset: e.Asset, In: e.Amount, InTainted: e.Tainted, Memo: d.Memo, Key: d.Key,
		DestChain: d.DestChain, Recipient: d.Recipient}
	cr.Via = via(d)
	add := func(status, reason string) (int, error) {
		cr.Status, cr.Reason = status, reason
		res.Crossings = append(res.Crossings, cr)
		return len(res.Crossings) - 1, nil
	}
	if d.Err != "" {
		return add(CrossUnreadable, d.Err)
	}
	if d.Bridge == thorchain.BridgeName && strings.EqualFold(d.DestChain, "THOR") {
		return add(CrossStays, "the memo keeps the funds on THORChain")
	}
	networks := x.o.Networks
	if networks == nil {
		networks = bridge.GraphChain
	}
	to, known := networks(d.DestChain)
	held := false
	if known {
		var err error
		if held, err = x.isHeld(ctx, to); err != nil {
			return 0, err
		}
	}
	cr.ToChain = to
	var pays []payoutAt
	if held {
		ps, err := x.payoutsOf(ctx, to, d.Key)
		if err != nil {
			return 0, err
		}
		for _, p := range ps {
			pays = append(pays, payoutAt{to, p})
		}
	}
	if to != c {
		// A refund comes back on the source chain.
		ps, err := x.payoutsOf(ctx, c, d.Key)
		if err != nil {
			return 0, err
		}
		for _, p := range ps {
			if p.Refund {
				pays = append(pays, payoutAt{c, p})
			}
		}
	}
	if len(pays) == 0 {
		switch {
		case !known:
			return add(CrossNotHeld, fmt.Sprintf("%s is not a chain the graph holds", d.DestChain))
		case !held:
			return add(CrossNotHeld, fmt.Sprintf("nothing of %s is ingested", to))
		}
		return add(CrossNoPayout, fmt.Sprintf("no payout with key %s is in the graph of %s: not paid yet, or not ingested that far", d.Key, to))
	}
	if e.Hop >= x.o.MaxHops {
		cr.ToChain = pays[0].c
		return add(CrossHopLimit, fmt.Sprintf("the payout's recipients are past the %d hops asked for", x.o.MaxHops))
	}
	for _, p := range pays {
		outs, err := x.payoutTransfers(ctx, p.c, p.p, d)
		if err != nil {
			return 0, err
		}
		for _, out := range outs {
			if x.o.Model == Poison {
				out.Tainted = out.Amount
			} else {
				out.Tainted = mulDiv(out.Amount, e.Tainted, e.Amount)
			}
			cr.Out = append(cr.Out, out)
		}
		if p.p.Refund {
			cr.ToChain = p.c
		}
	}
	if len(cr.Out) == 0 {
		return add(CrossNoPayout, fmt.Sprintf("the payouts with key %s pay %s nothing the graph shows", d.Key, orAny(d.Recipient)))
	}
	queued := false
	for _, out := range cr.Out {
		pc := cr.ToChain
		for _, p := range pays {
			if p.p.Tx == out.Tx {
				pc = p.c
			}
		}
		k := legKey{pc, out.Asset}
		if _, ok := x.minFor[k]; !ok {
			// The dust limit carries over at the crossing's rate.
			x.minFor[k] = x.o.MinAmount.MulDiv(out.Amount, e.Amount)
		}
		if out.Tainted.IsZero() || out.Tainted.Cmp(x.minFor[k]) < 0 {
			continue
		}
		x.queue(k, pc, out, e.Hop+1)
		queued = true
	}
	if !queued {
		return add(CrossDust, "what the payout carries is below the dust limit")
	}
	return add(CrossFollowed, "")
}

// payoutTxs keeps the payout transactions a crossing read, by chain and
// hash, for the seeds of the leg it queues.
type payoutTxs struct {
	utxo map[string]utxoRead
	acct map[string][]chain.Transfer
}

type utxoRead struct {
	tx    *chain.Tx
	block uint64
	at    time.Time
}

func txKey(c chain.Chain, hash string) string { return string(c) + "/" + hash }

// utxoTx reads a Bitcoin transaction, from the crossings' if one read it.
func (p *payoutTxs) utxoTx(ctx context.Context, g UTXOGraph, c chain.Chain, hash string) (*chain.Tx, uint64, time.Time, bool, error) {
	if p != nil {
		if r, ok := p.utxo[txKey(c, hash)]; ok {
			return r.tx, r.block, r.at, true, nil
		}
	}
	tx, block, at, found, err := g.UTXOTx(ctx, c, hash)
	if p != nil && found && err == nil {
		p.utxo[txKey(c, hash)] = utxoRead{tx, block, at}
	}
	return tx, block, at, found, err
}

// txTransfers reads an account transaction's transfers, from the
// crossings' if one read it.
func (p *payoutTxs) txTransfers(ctx context.Context, g TxReader, c chain.Chain, hash string) ([]chain.Transfer, bool, error) {
	if p != nil {
		if trs, ok := p.acct[txKey(c, hash)]; ok {
			return trs, true, nil
		}
	}
	trs, found, err := g.TxTransfers(ctx, c, hash)
	if p != nil && found && err == nil {
		p.acct[txKey(c, hash)] = trs
	}
	return trs, found, err
}

type payoutAt struct {
	c chain.Chain
	p chain.BridgePayout
}

func orAny(s string) string {
	if s == "" {
		return "the recipient"
	}
	return s
}

// queue adds a payout transfer to its leg's seeds.
func (x *crosser) queue(k legKey, c chain.Chain, out CrossOut, hop int) {
	ls := x.queued[k]
	if ls == nil {
		ls = &legSeeds{hop: hop, at: make(map[seedKey]int)}
		x.queued[k] = ls
	}
	ls.hop = min(ls.hop, hop)
	sk := seedKey{tx: out.Tx, addr: out.To}
	if c == chain.Bitcoin {
		sk = seedKey{tx: out.Tx, out: out.Pos, utxo: true}
	}
	if i, ok := ls.at[sk]; ok {
		s := &ls.seeds[i]
		s.Amount, _ = s.Amount.Add(out.Tainted)
		s.hop = min(s.hop, hop)
		return
	}
	s := Seed{Tx: out.Tx, Amount: out.Tainted, hop: hop}
	if sk.utxo {
		pos := out.Pos
		s.Output = &pos
	} else {
		s.Address = out.To
	}
	ls.at[sk] = len(ls.seeds)
	ls.seeds = append(ls.seeds, s)
}

// payoutTransfers are the transfers a payout made: those to the
// recipient its event names, in its asset (or the coin, where a wrapped
// coin is paid out unwrapped); for a payout whose event names no
// recipient (a Bitcoin memo), the outputs to the deposit's recipient, or
// failing that every output that does not go back to the payer (the
// vault's change).
func (x *crosser) payoutTransfers(ctx context.Context, c chain.Chain, p chain.BridgePayout, d chain.BridgeDeposit) ([]CrossOut, error) {
	if c == chain.Bitcoin {
		u, ok := x.g.(UTXOGraph)
		if !ok {
			return nil, errors.New("trace: this graph cannot read Bitcoin transactions")
		}
		tx, block, at, found, err := x.payouts.utxoTx(ctx, u, c, p.Tx)
		if err != nil || !found {
			return nil, err
		}
		to := p.To
		if to == "" && !p.Refund {
			if r, ok := thorchain.Resolve(strings.ToUpper(d.DestChain), d.Recipient); ok {
				to = r
			}
		}
		payer := make(map[string]bool)
		for _, in := range tx.Inputs {
			payer[in.Address] = true
		}
		var out []CrossOut
		for pass := 0; pass < 2 && len(out) == 0; pass++ {
			for _, o := range tx.Outputs {
				if o.Address == "" || o.Value == 0 {
					continue
				}
				if pass == 0 && (to == "" || o.Address != to) || pass == 1 && (to != "" || payer[o.Address]) {
					continue
				}
				out = append(out, CrossOut{Tx: tx.Hash, Kind: chain.KindOutput, Pos: o.Index, Block: block, Time: at, From: principalInput(tx),
					To: o.Address, Amount: chain.NewAmount(o.Value), Refund: p.Refund, Memo: p.Memo})
			}
		}
		return out, nil
	}
	r, ok := x.g.(TxReader)
	if !ok {
		return nil, errors.New("trace: this graph cannot read transactions")
	}
	trs, found, err := x.payouts.txTransfers(ctx, r, c, p.Tx)
	if err != nil || !found {
		return nil, err
	}
	to := p.To
	if to == "" {
		to = d.Recipient
		if p.Refund {
			to = d.Depositor
		}
	}
	collect := func(ok func(chain.Transfer) bool) []CrossOut {
		var out []CrossOut
		for _, t := range trs {
			if t.To == to && ok(t) {
				out = append(out, CrossOut{Tx: t.Tx, Kind: t.Kind, Pos: t.Pos, Block: t.Block, Time: t.Time, From: t.From, To: t.To,
					Asset: t.Asset, Amount: t.Amount, Refund: p.Refund, Memo: p.Memo})
			}
		}
		return out
	}
	var out []CrossOut
	if !p.Amount.IsZero() {
		out = collect(func(t chain.Transfer) bool { return t.Asset == p.Asset && t.Amount.Cmp(p.Amount) == 0 })
		if out == nil {
			out = collect(func(t chain.Transfer) bool { return t.Asset == chain.Native && t.Amount.Cmp(p.Amount) == 0 })
		}
	}
	if out == nil {
		out = collect(func(t chain.Transfer) bool { return t.Asset == p.Asset })
	}
	return out, nil
}

// principalInput is a Bitcoin transaction's largest input's address.
func principalInput(tx *chain.Tx) string {
	var best string
	var most uint64
	for _, in := range tx.Inputs {
		if in.Address != "" && (best == "" || in.Value > most) {
			best, most = in.Address, in.Value
		}
	}
	return best
}

// via says how a deposit links to its payout.
func via(d chain.BridgeDeposit) string {
	switch d.Bridge {
	case thorchain.BridgeName:
		if d.Memo == "" {
			return "THORChain deposit, no memo"
		}
		return "THORChain swap, memo " + d.Memo
	case "across":
		return "Across deposit " + strings.TrimPrefix(d.Key, "across/")
	case "cbridge":
		return "cBridge transfer " + strings.TrimPrefix(d.Key, "cbridge/")
	}
	if d.Memo != "" {
		return d.Bridge + ", memo " + d.Memo
	}
	return d.Bridge + " deposit " + d.Key
}

// bridgeLabel labels an address of a bridge contract that took recorded
// deposits, where the trace must stop to cross; nil for any other.
func (t *tracer) bridgeLabel(addr string) *Label {
	b, ok := t.o.bridges[addr]
	if !ok {
		return nil
	}
	return &Label{Entity: bridgeEntity(b), Category: tags.Bridge, Heuristic: HeuristicBridgeEvent}
}

// HeuristicBridgeEvent names, in a label, a contract known as a bridge by
// the deposit events it emitted rather than by a tag.
const HeuristicBridgeEvent = "bridge-event"

func bridgeEntity(b string) string {
	switch b {
	case thorchain.BridgeName:
		return "THORChain"
	case "across":
		return "Across"
	case "cbridge":
		return "Celer cBridge"
	}
	return b
}
