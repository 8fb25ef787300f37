package trace

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tracehound/tracehound/chain"
)

// Bitcoin is traced coin by coin, not by address balance: taint sits on
// outputs, and a transaction passes the taint of the coins it spends on to
// the outputs it creates:
//
//   - Poison: if any input is tainted, every output is tainted in full.
//   - Haircut: the inputs' taint is shared among the outputs in proportion
//     to their values; the fee's share is taint paid to the miner.
//   - FIFO: satoshis keep their order: the inputs, in order, fill the
//     outputs, in order, and the fee comes last.
//
// Taint is conserved per transaction: the inputs' taint equals the
// outputs' plus the fee's (Result.FeesTainted), exactly.

// UTXOGraph is the Bitcoin graph: transactions with their inputs and
// outputs, and which transaction spends an output.
type UTXOGraph interface {
	Graph
	UTXOTx(ctx context.Context, c chain.Chain, hash string) (tx *chain.Tx, block uint64, at time.Time, ok bool, err error)
	SpentBy(ctx context.Context, c chain.Chain, op chain.OutPoint) (tx string, input uint32, ok bool, err error)
}

type utxoTx struct {
	tx    *chain.Tx
	block uint64
	time  time.Time
	hop   int
	in    map[uint32]chain.Amount // taint per input index
	out   map[uint32]chain.Amount // taint per output index, last computed
	fee   chain.Amount
}

type utxoTracer struct {
	*tracer
	g     UTXOGraph
	txs   map[string]*utxoTx
	queue []string
	// coins are the tainted outputs and their taint; coinAddr the
	// addresses they pay; spentByTraced marks those a traced transaction
	// spends.
	coins         map[chain.OutPoint]chain.Amount
	coinAddr      map[chain.OutPoint]string
	spentByTraced map[chain.OutPoint]bool
	// seedHop is the hop of each seed coin's recipient: 0 for the
	// investigator's seeds, past it for a bridge's payout.
	seedHop map[chain.OutPoint]int
}

func (t *tracer) runUTXO(ctx context.Context, seeds []Seed) error {
	g, ok := t.g.(UTXOGraph)
	if !ok {
		return errors.New("trace: this graph cannot read Bitcoin transactions")
	}
	u := &utxoTracer{tracer: t, g: g, txs: make(map[string]*utxoTx), coins: make(map[chain.OutPoint]chain.Amount),
		coinAddr: make(map[chain.OutPoint]string), spentByTraced: make(map[chain.OutPoint]bool), seedHop: make(map[chain.OutPoint]int)}
	for _, s := range seeds {
		if err := u.seed(ctx, s); err != nil {
			return err
		}
	}
	for len(u.queue) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		h := u.queue[0]
		u.queue = u.queue[1:]
		if err := u.step(ctx, u.txs[h]); err != nil {
			return err
		}
	}
	u.collect()
	return nil
}

func (u *utxoTracer) seed(ctx context.Context, s Seed) error {
	budget := newSeedBudget(s)
	switch {
	case s.Tx != "":
		tx, _, _, ok, err := u.o.payouts.utxoTx(ctx, u.g, u.o.Chain, s.Tx)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("trace: seed transaction %s is not in the store", s.Tx)
		}
		found := false
		for _, o := range tx.Outputs {
			if o.Value == 0 || s.Output != nil && o.Index != *s.Output || s.Address != "" && o.Address != s.Address {
				continue
			}
			a, ok := budget.take(chain.NewAmount(o.Value))
			if !ok {
				break
			}
			op := chain.OutPoint{Tx: tx.Hash, Index: o.Index}
			u.coins[op], u.coinAddr[op] = a, o.Address
			u.seeds[u.coinID(op)] = a
			u.seedHop[op] = s.hop
			if o.Address != "" {
				u.node(u.v.addr(o.Address), s.hop).seed = true
			}
			found = true
		}
		if !found {
			return fmt.Errorf("trace: seed %s names no output of the transaction that carries value", s)
		}
	case s.Address != "":
		found := false
		err := u.g.Postings(ctx, u.o.Chain, s.Address, u.seedQuery(s), func(p chain.Posting) bool {
			if p.Kind != chain.KindOutput {
				return true
			}
			a, ok := budget.take(p.Amount)
			if !ok {
				return false
			}
			op := chain.OutPoint{Tx: p.Tx, Index: p.Pos}
			u.coins[op], u.coinAddr[op] = a, s.Address
			u.seeds[u.coinID(op)] = a
			u.seedHop[op] = s.hop
			found = true
			return true
		})
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("trace: seed %s received nothing in the window: nothing to trace (is the chain ingested for that period?)", s.Address)
		}
		n := u.node(u.v.addr(s.Address), s.hop)
		n.seed = true
	default:
		return errors.New("trace: empty seed")
	}
	if err := budget.short(s); err != nil {
		return err
	}
	// Each seed coin flows into the transaction spending it, unless a
	// bridge paid it to a service (an exchange's address), where the
	// branch ends as it does for any coin that reaches one.
	for op, taint := range u.coins {
		hop := u.seedHop[op]
		if a := u.coinAddr[op]; hop > 0 && a != "" {
			id := u.v.addr(a)
			l, _, err := u.label(ctx, id)
			if err != nil {
				return err
			}
			if l != nil {
				u.node(id, hop).label = l
				continue
			}
		}
		if err := u.spend(ctx, op, taint, hop); err != nil {
			return err
		}
	}
	return nil
}

func (u *utxoTracer) coinID(op chain.OutPoint) tid {
	return tid{u.v.tx(op.Tx, 0), op.Index, chain.KindOutput}
}

// spend sends a tainted coin's taint into the transaction that spends it,
// if any; hop is the hop of the transaction that created the coin.
func (u *utxoTracer) spend(ctx context.Context, op chain.OutPoint, taint chain.Amount, hop int) error {
	h, input, ok, err := u.g.SpentBy(ctx, u.o.Chain, op)
	if err != nil || !ok {
		return err
	}
	tx := u.txs[h]
	if tx == nil {
		if hop >= u.o.MaxHops {
			return nil
		}
		rec, block, at, found, err := u.g.UTXOTx(ctx, u.o.Chain, h)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("trace: %s spends %s:%d but is not in the store", h, op.Tx, op.Index)
		}
		if !u.o.Until.IsZero() && !at.Before(u.o.Until) {
			return nil
		}
		if len(u.txs) >= u.o.MaxAddresses {
			return fmt.Errorf("%w: more than %d transactions tainted by hop %d (raise the cap, lower the hops or set a dust limit)", ErrTooLarge, u.o.MaxAddresses, hop+1)
		}
		tx = &utxoTx{tx: rec, block: block, time: at, hop: hop + 1, in: make(map[uint32]chain.Amount), out: make(map[uint32]chain.Amount)}
		u.txs[h] = tx
	}
	if old, ok := tx.in[input]; ok && old.Cmp(taint) == 0 {
		return nil
	}
	u.spentByTraced[op] = true
	tx.in[input] = taint
	u.queue = append(u.queue, h)
	return nil
}

// step recomputes a transaction's output taint from its inputs' and
// passes changes on to the transactions spending those outputs.
func (u *utxoTracer) step(ctx context.Context, tx *utxoTx) error {
	ins := tx.tx.Inputs
	var total, tainted chain.Amount
	for i, in := range ins {
		total, _ = total.Add(chain.NewAmount(in.Value))
		tainted, _ = tainted.Add(tx.in[uint32(i)])
	}
	outs := tx.tx.Outputs
	out := make(map[uint32]chain.Amount, len(outs))
	var paid chain.Amount
	switch u.o.Model {
	case Poison:
		if !tainted.IsZero() {
			for _, o := range outs {
				out[o.Index] = chain.NewAmount(o.Value)
				paid, _ = paid.Add(chain.NewAmount(o.Value))
			}
		}
	case Haircut:
		// Shares are rounded down; the rounding joins the fee's share so
		// that nothing is created.
		for _, o := range outs {
			if total.IsZero() {
				break
			}
			s := chain.NewAmount(o.Value).MulDiv(tainted, total)
			out[o.Index] = s
			paid, _ = paid.Add(s)
		}
	case FIFO:
		// Walk the satoshi ranges: input i covers [start_i, end_i) of the
		// inputs' total, output j covers [ostart_j, oend_j).
		var pos uint64
		type rng struct {
			lo, hi uint64
			taint  chain.Amount
			value  uint64
		}
		var rs []rng
		for i, in := range ins {
			rs = append(rs, rng{pos, pos + in.Value, tx.in[uint32(i)], in.Value})
			pos += in.Value
		}
		var opos uint64
		for _, o := range outs {
			lo, hi := opos, opos+o.Value
			opos = hi
			var s chain.Amount
			for _, r := range rs {
				a, b := max(lo, r.lo), min(hi, r.hi)
				if a >= b || r.taint.IsZero() || r.value == 0 {
					continue
				}
				s, _ = s.Add(chain.NewAmount(b-a).MulDiv(r.taint, chain.NewAmount(r.value)))
			}
			out[o.Index] = s
			paid, _ = paid.Add(s)
		}
	}
	if u.o.Model != Poison {
		tx.fee = sub(tainted, paid)
	}
	for _, o := range outs {
		s := out[o.Index]
		if full, ok := u.seeds[u.coinID(chain.OutPoint{Tx: tx.tx.Hash, Index: o.Index})]; ok {
			// A seed coin stays tainted in full.
			u.seedComputed[u.coinID(chain.OutPoint{Tx: tx.tx.Hash, Index: o.Index})] = s
			s = full
		}
		if old, ok := tx.out[o.Index]; ok && old.Cmp(s) == 0 {
			continue
		}
		tx.out[o.Index] = s
		op := chain.OutPoint{Tx: tx.tx.Hash, Index: o.Index}
		if s.IsZero() || s.Cmp(u.o.MinAmount) < 0 {
			delete(u.coins, op)
			delete(u.coinAddr, op)
			continue
		}
		u.coins[op], u.coinAddr[op] = s, o.Address
		if o.Address != "" {
			a := u.v.addr(o.Address)
			n := u.node(a, tx.hop)
			l, _, err := u.label(ctx, a)
			if err != nil {
				return err
			}
			if n.label = l; l != nil {
				continue // a service: the branch ends here
			}
		}
		if err := u.spend(ctx, op, s, tx.hop); err != nil {
			return err
		}
	}
	return nil
}

// collect turns the tainted transactions into the result's nodes and
// edges: one edge per tainted output, from the input address that carried
// the most taint. An address's sent taint is that of its coins the traced
// transactions spent; what it still holds is its other tainted coins.
func (u *utxoTracer) collect() {
	for _, tx := range u.txs {
		from, best := "", chain.Amount{}
		for i, in := range tx.tx.Inputs {
			ti := tx.in[uint32(i)]
			if ti.IsZero() {
				continue
			}
			if from == "" || ti.Cmp(best) > 0 {
				from, best = in.Address, ti
			}
			if in.Address != "" {
				n := u.node(u.v.addr(in.Address), tx.hop-1)
				if n.spent == nil {
					n.spent = new(chain.Amount)
				}
				*n.spent, _ = n.spent.Add(ti)
			}
		}
		u.res.FeesTainted, _ = u.res.FeesTainted.Add(tx.fee)
		for _, o := range tx.tx.Outputs {
			s := tx.out[o.Index]
			if s.IsZero() || s.Cmp(u.o.MinAmount) < 0 || o.Address == "" {
				continue
			}
			id := u.coinID(chain.OutPoint{Tx: tx.tx.Hash, Index: o.Index})
			to, fromID := u.v.addr(o.Address), u.v.addr(from)
			r := u.node(to, tx.hop)
			r.in.set(u.ws, id, s)
			fn := u.node(fromID, tx.hop-1)
			// toNode names the recipient, so that an endpoint knows the
			// transfers into it.
			e := edge{id: id, txi: noIndex, block: tx.block, from: fromID, to: to, amount: chain.NewAmount(o.Value), tainted: s, asset: u.asset, hop: tx.hop, toNode: r}
			e.setTime(tx.time)
			fn.out = append(fn.out, e)
		}
	}
	for op, taint := range u.coins {
		addr := u.coinAddr[op]
		if addr == "" {
			continue
		}
		n := u.node(u.v.addr(addr), 0)
		if n.spent == nil {
			n.spent = new(chain.Amount)
		}
		if n.seed {
			if _, ok := n.in.get(u.coinID(op)); !ok {
				n.in.set(u.ws, u.coinID(op), taint)
			}
		}
		if !u.spentByTraced[op] {
			n.remaining, _ = n.remaining.Add(taint)
		}
	}
	u.tracer.collect()
}
