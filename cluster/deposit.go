// Package cluster links addresses to the entities that control them when
// no tag names them directly. Each heuristic can be switched off, and
// every link it makes says which heuristic made it.
//
// Deposit addresses (Ethereum): exchanges give each customer a deposit
// address and sweep what arrives to a hot wallet, whole and soon. An
// address is taken for an exchange's deposit address only when it looks
// like one in every respect: everything it ever sent went to one address
// tagged as that exchange, which is no deposit address itself (one that
// pays everything to a single address: a tagged deposit address would
// make the wallets of its customers, and the laundering hops that pay
// it, look like deposit addresses);
// each of its sends took exactly what some of
// its oldest unswept deposits brought (less the fee, for the chain's
// coin); and every deposit was swept within a window of its arrival, or
// arrived less than a window before the end of the graph. Payments from
// the hot wallet are gas top-ups, not deposits, and dust of the coin may
// stay; a token the address never sent is one the exchange does not
// sweep (an airdrop, address-poisoning spam) and waits without harm;
// zero-value transfers are spam. An address
// that forwards part of what it received to an exchange and keeps the
// rest, sweeps late, or sweeps to an untagged wallet is not one: the
// trace goes on through it rather than stop at a guess. The sweeps that
// made the link are kept as its evidence (Deposits.Sweeps).
package cluster

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/trace"
)

// Graph reads an address's transfers.
type Graph interface {
	Postings(ctx context.Context, c chain.Chain, addr string, q chain.PostingQuery, fn func(chain.Posting) bool) error
}

// solePayee is a graph that can tell the one address an address's
// newest payments go to, without building postings (the trace cache): to
// from the first max payments, how many it read, whether they were
// mixed; ok is false when it does not hold the address.
type solePayee interface {
	SolePayee(ctx context.Context, c chain.Chain, addr string, max int) (to string, n int, mixed, ok bool, err error)
}

// tipper tells where the graph ends, so that a deposit not yet swept can
// be told from one never swept.
type tipper interface {
	Tip(ctx context.Context, c chain.Chain) (chain.Tip, bool, error)
}

// HeuristicDeposit names the deposit-address heuristic in labels.
const HeuristicDeposit = "deposit-address"

// Defaults for Deposits.
const (
	DefaultMaxSweeps   = 64
	DefaultMaxPostings = 4096
	DefaultWindow      = 72 * time.Hour
)

// DefaultDust is what a sweep of ether may leave behind in the postings:
// the fee it paid out of the swept balance, which the transfer graph does
// not post (0.01 ETH covers 21,000 gas at 475 gwei).
var DefaultDust = chain.NewAmount(10_000_000_000_000_000)

// Sweep is a transfer that swept a deposit address into its exchange's
// wallet: the evidence of a deposit-address label.
type Sweep struct {
	Tx     string       `json:"tx"`
	Block  uint64       `json:"block"`
	Time   time.Time    `json:"time"`
	To     string       `json:"to"`
	Asset  chain.Asset  `json:"asset,omitempty"`
	Amount chain.Amount `json:"amount"`
	// Deposits is how many deposits the sweep took whole; Oldest and
	// Newest are when the first and the last of them arrived (zero for a
	// sweep of gas left over).
	Deposits int       `json:"deposits"`
	Oldest   time.Time `json:"oldest,omitzero"`
	Newest   time.Time `json:"newest,omitzero"`
}

// Deposits labels an address as an exchange's deposit address when it
// sweeps like one (see the package doc) to an address Base tags as an
// exchange; other addresses get Base's label. It is safe for concurrent
// use.
type Deposits struct {
	Graph Graph
	Base  trace.Labeler
	// MaxSweeps bounds the outgoing transfers read: a deposit address
	// sweeps a handful of times; an address sending more is something
	// else (default 64).
	MaxSweeps int
	// MaxPostings bounds the transfers read in all (default 4096).
	MaxPostings int
	// Window is the longest a deposit may wait for its sweep (default 72
	// hours).
	Window time.Duration
	// Dust is the most a sweep of the chain's coin may fall short of the
	// deposits it takes (the fee), and the most of the coin that may stay
	// unswept (default DefaultDust; tokens are swept exactly).
	Dust chain.Amount

	mu       sync.Mutex
	evidence map[depKey][]Sweep
	sweepers map[depKey]bool // whether a tagged address pays all to one address
}

type depKey struct {
	c    chain.Chain
	addr string
}

// Label implements trace.Labeler.
func (d *Deposits) Label(ctx context.Context, c chain.Chain, addr string) (trace.Label, bool, error) {
	if l, ok, err := d.Base.Label(ctx, c, addr); err != nil || ok {
		return l, ok, err
	}
	limit := d.MaxSweeps
	if limit <= 0 {
		limit = DefaultMaxSweeps
	}
	var (
		to          string
		n           int
		mixed, done bool
		err         error
	)
	// A cheap first look: most addresses a trace reaches pay more than
	// one address, or more often than a deposit address sweeps. Reading
	// one payment past the limit tells the latter.
	if p, ok := d.Graph.(solePayee); ok {
		to, n, mixed, done, err = p.SolePayee(ctx, c, addr, limit+1)
	}
	if !done && err == nil {
		to, n, mixed, err = solePayeeOf(ctx, d.Graph, c, addr, limit+1)
	}
	if err != nil {
		return trace.Label{}, false, fmt.Errorf("deposit heuristic for %s: %w", addr, err)
	}
	if mixed || n == 0 || n > limit {
		return trace.Label{}, false, nil
	}
	l, ok, err := d.Base.Label(ctx, c, to)
	if err != nil || !ok || !l.Category.IsExchange() {
		return trace.Label{}, false, err
	}
	if sweeper, err := d.sweeper(ctx, c, to, limit); err != nil || sweeper {
		return trace.Label{}, false, err
	}
	sweeps, ok, err := d.sweeps(ctx, c, addr, to)
	if err != nil {
		return trace.Label{}, false, fmt.Errorf("deposit heuristic for %s: %w", addr, err)
	}
	if !ok {
		return trace.Label{}, false, nil
	}
	d.mu.Lock()
	if d.evidence == nil {
		d.evidence = make(map[depKey][]Sweep)
	}
	d.evidence[depKey{c, addr}] = sweeps
	d.mu.Unlock()
	return trace.Label{Entity: l.Entity, Category: l.Category, Heuristic: HeuristicDeposit}, true, nil
}

// sweeper reports whether a tagged address pays all it sends to one
// address, as a deposit address does and a hot wallet, which pays
// withdrawals, does not.
func (d *Deposits) sweeper(ctx context.Context, c chain.Chain, hot string, limit int) (bool, error) {
	k := depKey{c, hot}
	d.mu.Lock()
	known, cached := d.sweepers[k]
	d.mu.Unlock()
	if cached {
		return known, nil
	}
	var (
		n           int
		mixed, done bool
		err         error
	)
	if p, ok := d.Graph.(solePayee); ok {
		_, n, mixed, done, err = p.SolePayee(ctx, c, hot, limit+1)
	}
	if !done && err == nil {
		_, n, mixed, err = solePayeeOf(ctx, d.Graph, c, hot, limit+1)
	}
	if err != nil {
		return false, fmt.Errorf("deposit heuristic: hot wallet %s: %w", hot, err)
	}
	sweeper := n > 0 && !mixed
	d.mu.Lock()
	if d.sweepers == nil {
		d.sweepers = make(map[depKey]bool)
	}
	d.sweepers[k] = sweeper
	d.mu.Unlock()
	return sweeper, nil
}

// Sweeps returns the sweeps that made addr a deposit address when Label
// last labelled it, oldest first; nil if it did not.
func (d *Deposits) Sweeps(c chain.Chain, addr string) []Sweep {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.evidence[depKey{c, addr}]
}

// pending is a deposit not swept yet.
type pending struct {
	at     time.Time
	amount chain.Amount
}

// ledger follows one asset's deposits and sweeps at an address.
type ledger struct {
	asset chain.Asset
	queue []pending
	// spare is what arrived from the hot wallet (gas top-ups): a sweep
	// may take it along, none has to.
	spare chain.Amount
	// swept says the asset was swept at least once.
	swept bool
}

// sweeps reads addr's whole history, oldest first, and returns its
// sweeps to hot if every send is a whole, timely sweep there and every
// deposit is swept in time (or still may be).
func (d *Deposits) sweeps(ctx context.Context, c chain.Chain, addr, hot string) ([]Sweep, bool, error) {
	maxPostings := d.MaxPostings
	if maxPostings <= 0 {
		maxPostings = DefaultMaxPostings
	}
	window := d.Window
	if window <= 0 {
		window = DefaultWindow
	}
	dust := d.Dust
	if dust.IsZero() {
		dust = DefaultDust
	}
	var ledgers []ledger // one per asset; an address holds few
	var (
		out      []Sweep
		n        int
		tooBusy  bool
		rejected bool
	)
	err := d.Graph.Postings(ctx, c, addr, chain.PostingQuery{Oldest: true, Limit: maxPostings + 1}, func(p chain.Posting) bool {
		if n++; n > maxPostings {
			tooBusy = true
			return false
		}
		var lg *ledger
		for i := range ledgers {
			if ledgers[i].asset == p.Asset {
				lg = &ledgers[i]
				break
			}
		}
		if lg == nil {
			ledgers = append(ledgers, ledger{asset: p.Asset})
			lg = &ledgers[len(ledgers)-1]
		}
		if p.Incoming {
			if p.Amount.IsZero() {
				return true // address-poisoning spam
			}
			if p.Counterparty == hot {
				lg.spare, _ = lg.spare.Add(p.Amount)
			} else {
				lg.queue = append(lg.queue, pending{p.Time, p.Amount})
			}
			return true
		}
		if p.Counterparty != hot {
			rejected = true
			return false
		}
		var slack chain.Amount
		if p.Asset == chain.Native {
			slack = dust
		}
		s, ok := lg.sweep(p, slack, window)
		if !ok {
			rejected = true
			return false
		}
		out = append(out, s)
		return true
	})
	if err != nil || tooBusy || rejected {
		return nil, false, err
	}
	deposits := 0
	for _, s := range out {
		deposits += s.Deposits
	}
	if deposits == 0 {
		return nil, false, nil
	}
	// Deposits still waiting must be younger than the window at the end
	// of the graph: a deposit address sweeps, a wallet keeps.
	var end time.Time
	if t, ok := d.Graph.(tipper); ok {
		tip, has, err := t.Tip(ctx, c)
		if err != nil {
			return nil, false, err
		}
		if has {
			end = tip.Time
		}
	}
	for _, lg := range ledgers {
		if len(lg.queue) == 0 || lg.asset != chain.Native && !lg.swept {
			continue
		}
		if lg.asset == chain.Native {
			// Dust of the coin (a gas top-up from elsewhere, a deposit
			// below the exchange's minimum) may stay.
			var left chain.Amount
			for _, q := range lg.queue {
				left, _ = left.Add(q.amount)
			}
			if left.Cmp(dust) <= 0 {
				continue
			}
		}
		if end.IsZero() || end.Sub(lg.queue[0].at) > window {
			return nil, false, nil
		}
	}
	return out, true, nil
}

// sweep takes an outgoing transfer as a sweep of the oldest deposits: it
// must take k of them whole, less at most slack (the fee) and plus at
// most the spare, each within window of its arrival; k is 0 only for a
// sweep of spare alone (gas left over).
func (lg *ledger) sweep(p chain.Posting, slack chain.Amount, window time.Duration) (Sweep, bool) {
	reach, over := p.Amount.Add(slack)
	if over {
		return Sweep{}, false
	}
	var sum chain.Amount
	k := 0
	for k < len(lg.queue) {
		next, over := sum.Add(lg.queue[k].amount)
		if over || next.Cmp(reach) > 0 {
			break
		}
		sum, k = next, k+1
	}
	if k == 0 {
		// Less than the oldest deposit: a part, not a sweep, unless it is
		// spare alone.
		spare, short := lg.spare.Sub(p.Amount)
		if short {
			return Sweep{}, false
		}
		lg.spare, lg.swept = spare, true
		return Sweep{Tx: p.Tx, Block: p.Block, Time: p.Time, To: p.Counterparty, Asset: p.Asset, Amount: p.Amount}, true
	}
	if extra, under := p.Amount.Sub(sum); !under {
		// More than the deposits taken: only spare (top-ups) may make it up.
		spare, short := lg.spare.Sub(extra)
		if short {
			return Sweep{}, false
		}
		lg.spare = spare
	}
	for _, dep := range lg.queue[:k] {
		if p.Time.Sub(dep.at) > window {
			return Sweep{}, false
		}
	}
	s := Sweep{Tx: p.Tx, Block: p.Block, Time: p.Time, To: p.Counterparty, Asset: p.Asset, Amount: p.Amount, Deposits: k, Oldest: lg.queue[0].at, Newest: lg.queue[k-1].at}
	lg.queue, lg.swept = lg.queue[k:], true
	return s, true
}

// solePayeeOf is SolePayee read from postings. It is a function of its
// own so that the variables its callback sets stay off the heap on the
// trace cache's path.
func solePayeeOf(ctx context.Context, g Graph, c chain.Chain, addr string, max int) (to string, n int, mixed bool, err error) {
	err = g.Postings(ctx, c, addr, chain.PostingQuery{Outgoing: true, Limit: max}, func(p chain.Posting) bool {
		n++
		if to == "" {
			to = p.Counterparty
		} else if p.Counterparty != to {
			mixed = true
			return false
		}
		return n < max
	})
	return to, n, mixed, err
}
