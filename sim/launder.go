package sim

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/tracehound/tracehound/chain"
)

// ptransfer and ptx are planned transfers and transactions: everything but
// what the block decides (height, time, position, fee rate).
type ptransfer struct {
	kind   chain.TransferKind
	pos    uint32
	from   string
	to     string
	asset  chain.Asset
	amount chain.Amount
}

type ptx struct {
	block uint64 // counted from the first block
	hash  string
	from  string
	gas   uint64
	n     int // transfers used in tr
	tr    [2]ptransfer
}

// receipt is a deposit at one of the thief's deposit addresses, kept to
// plan its sweeps.
type receipt struct {
	block  uint64
	asset  chain.Asset
	amount chain.Amount
}

// maxNotes bounds one wallet's mixer deposits; what a wallet would mix
// beyond them goes to the bridge.
const maxNotes = 1000

// Route indexes.
const (
	routePeel = iota
	routeMixer
	routeBridge
	routeSwap
	routeExchange
	nRoutes
)

// planner lays out the laundering in full, keeping a ledger of every
// laundering address as it goes.
type planner struct {
	cfg   *Config
	w     *world
	r     *rand.Rand
	txs   []ptx
	acct  map[string]*Account
	dep   map[string]*Deposit
	recv  map[string][]receipt
	exOf  map[string]int // exchange of each of the thief's deposit addresses
	fresh uint64
	t     Truth
	err   error
}

func newPlanner(cfg *Config, w *world) *planner {
	p := &planner{
		cfg:  cfg,
		w:    w,
		r:    rand.New(rand.NewPCG(cfg.Seed, 1)),
		acct: make(map[string]*Account),
		dep:  make(map[string]*Deposit),
		recv: make(map[string][]receipt),
		exOf: make(map[string]int),
	}
	for e, ex := range w.exchanges {
		for _, a := range ex.thief {
			p.exOf[a] = e
		}
	}
	return p
}

// run plans the laundering and returns its truth and its transactions in
// block order.
func (p *planner) run() (Truth, []ptx, error) {
	cfg, w := p.cfg, p.w
	p.t.Victim = w.victim
	p.t.Theft = cfg.Theft
	p.t.TheftBlock = cfg.StartHeight + uint64(cfg.TheftBlock)
	thief := p.account(RoleThief)
	if cfg.Thief != "" {
		delete(p.acct, thief)
		thief = cfg.Thief
		p.acct[thief] = &Account{Role: RoleThief}
	}
	p.t.Thief = thief
	t0 := uint64(cfg.TheftBlock)
	p.t.TheftTx = p.send(t0, w.victim, 21_000, native(w.victim, thief, cfg.Theft))

	// Every wallet gets the same round amount, as Bybit's thief sent
	// 10,000 ETH to each of 40 wallets and kept the odd 1,346.77 ETH.
	share := roundDown(mulDiv(cfg.Theft, 1, uint64(cfg.SplitWallets)), 2)
	funded := make([]uint64, cfg.SplitWallets)
	b := p.after(t0)
	for i := range cfg.SplitWallets {
		if i > 0 {
			b = p.soon(b)
		}
		wallet := p.account(RoleSplit)
		p.send(b, thief, 21_000, native(thief, wallet, share))
		p.t.Splits = append(p.t.Splits, wallet)
		funded[i] = b
	}
	for i, wallet := range p.t.Splits {
		p.launder(wallet, share, funded[i])
	}
	p.sweep()
	if p.err != nil {
		return Truth{}, nil, p.err
	}

	p.t.Accounts = make(map[string]Account, len(p.acct))
	for a, acc := range p.acct {
		p.t.Accounts[a] = *acc
	}
	p.t.Deposits = make(map[string]Deposit, len(p.dep))
	for a, d := range p.dep {
		p.t.Deposits[a] = *d
	}
	s := &p.t.Services
	s.Exchanges = make(map[string]Exchange, len(w.exchanges))
	for _, ex := range w.exchanges {
		deps := slices.Concat(ex.customers, ex.thief)
		slices.Sort(deps)
		s.Exchanges[ex.name] = Exchange{Hot: ex.hot, Deposits: deps}
	}
	s.Mixer, s.Relayer, s.Bridge, s.Pool = w.mixer, w.relayer, w.bridge, w.pool
	s.Token = w.tokens[0].asset
	for _, tk := range w.tokens {
		s.Tokens = append(s.Tokens, tk.asset)
	}
	slices.SortStableFunc(p.txs, func(a, b ptx) int { return cmp.Compare(a.block, b.block) })
	return p.t, p.txs, nil
}

// launder divides a split wallet's funds among the routes and sends each
// share on, one route after another in a random order.
func (p *planner) launder(wallet string, amt chain.Amount, funded uint64) {
	r := p.cfg.Routes
	weights := [nRoutes]int{routePeel: r.Peel, routeMixer: r.Mixer, routeBridge: r.Bridge, routeSwap: r.Swap, routeExchange: r.Exchange}
	var jittered [nRoutes]uint64
	var total uint64
	last := -1
	for i, w := range weights {
		if w > 0 {
			jittered[i] = uint64(w) * (500 + p.r.Uint64N(1001))
			total += jittered[i]
			last = i
		}
	}
	var parts [nRoutes]chain.Amount
	rest := amt
	for i, w := range jittered {
		switch {
		case w == 0:
		case i == last:
			parts[i] = rest
		default:
			parts[i] = mulDiv(amt, w, total)
			rest = sub(rest, parts[i])
		}
	}

	// What cannot go its way goes to the bridge: the mixer's dust below
	// the smallest note, and a swap too small to buy one token unit.
	notes, dust := p.notes(parts[routeMixer])
	parts[routeMixer] = sub(parts[routeMixer], dust)
	parts[routeBridge] = add(parts[routeBridge], dust)
	rate := mulDiv(p.cfg.TokenPerETH, 990+p.r.Uint64N(11), 1000)
	tokens := parts[routeSwap].MulDiv(rate, ether(1))
	if tokens.IsZero() {
		parts[routeBridge] = add(parts[routeBridge], parts[routeSwap])
		parts[routeSwap] = chain.Amount{}
	}

	t := p.after(funded)
	first := true
	for _, i := range p.r.Perm(nRoutes) {
		if parts[i].IsZero() {
			continue
		}
		if !first {
			t = p.soon(t)
		}
		first = false
		switch i {
		case routePeel:
			t = p.peel(wallet, parts[i], t)
		case routeMixer:
			t = p.mix(wallet, notes, t)
		case routeBridge:
			t = p.toBridge(wallet, parts[i], t)
		case routeSwap:
			t = p.swap(wallet, parts[i], tokens, t)
		case routeExchange:
			t = p.toExchanges(wallet, parts[i], t)
		}
	}
}

// Each route sends from the wallet starting at block t and returns the
// block of the wallet's last transaction.

// peel starts a chain at a fresh address: each hop drops 1-5% at an
// exchange deposit address and passes the rest to the next fresh address.
func (p *planner) peel(wallet string, amt chain.Amount, t uint64) uint64 {
	a := p.account(RolePeel)
	p.send(t, wallet, 21_000, native(wallet, a, amt))
	b := t
	for range p.cfg.PeelHops {
		b = p.after(b)
		cut := mulDiv(amt, 10+p.r.Uint64N(41), 1000)
		if rounded := roundDown(cut, 3); !rounded.IsZero() {
			cut = rounded
		}
		if cut.IsZero() || cut.Cmp(amt) >= 0 {
			break
		}
		p.deposit(b, a, p.pickDeposit(), chain.Native, cut, false)
		amt = sub(amt, cut)
		next := p.account(RolePeel)
		b = p.soon(b)
		p.send(b, a, 21_000, native(a, next, amt))
		a = next
	}
	return t
}

// notes splits amt greedily into the mixer's denominations.
func (p *planner) notes(amt chain.Amount) (notes []chain.Amount, dust chain.Amount) {
	for _, d := range p.w.denoms {
		for amt.Cmp(d) >= 0 && len(notes) < maxNotes {
			notes = append(notes, d)
			amt = sub(amt, d)
		}
	}
	return notes, amt
}

// mix deposits the notes, then withdraws most of them after MixDelay or
// more, a few notes at a time, to fresh addresses that forward them to
// exchanges.
func (p *planner) mix(wallet string, notes []chain.Amount, t uint64) uint64 {
	type note struct {
		v  chain.Amount
		at uint64
	}
	ns := make([]note, len(notes))
	b := t
	for i, v := range notes {
		if i > 0 {
			b = p.soon(b)
		}
		p.send(b, wallet, 900_000+p.r.Uint64N(100_000), native(wallet, p.w.mixer, v))
		p.t.Mixed = add(p.t.Mixed, v)
		ns[i] = note{v, b}
	}
	p.r.Shuffle(len(ns), func(i, j int) { ns[i], ns[j] = ns[j], ns[i] })

	var out string
	var sum chain.Amount
	var last uint64
	var left int
	forward := func() {
		p.deposit(p.after(last), out, p.pickDeposit(), chain.Native, sum, true)
		out, sum, last = "", chain.Amount{}, 0
	}
	for _, n := range ns {
		if p.r.Float64() < p.cfg.MixerKeep {
			p.t.MixerLeft = add(p.t.MixerLeft, n.v)
			continue
		}
		if out == "" {
			out = p.account(RoleMixerOut)
			left = 1 + p.r.IntN(4)
		}
		wb := n.at + uint64(p.cfg.MixDelay+p.r.IntN(p.cfg.MixDelay+1))
		p.send(wb, p.w.relayer, 340_000+p.r.Uint64N(40_000),
			ptransfer{kind: chain.KindInternal, pos: 1, from: p.w.mixer, to: out, amount: n.v})
		sum = add(sum, n.v)
		last = max(last, wb)
		if left--; left == 0 {
			forward()
		}
	}
	if out != "" {
		forward()
	}
	return b
}

// toBridge sends amt to the bridge in one to three parts.
func (p *planner) toBridge(wallet string, amt chain.Amount, t uint64) uint64 {
	b := t
	for i, part := range p.split(amt, 1+p.r.IntN(3)) {
		if i > 0 {
			b = p.soon(b)
		}
		p.send(b, wallet, 60_000+p.r.Uint64N(60_000), native(wallet, p.w.bridge, part))
		p.t.Bridged = add(p.t.Bridged, part)
	}
	return b
}

// swap pays amt into the pool, which pays tokens to a fresh address in the
// same transaction; that address deposits them at exchanges.
func (p *planner) swap(wallet string, amt, tokens chain.Amount, t uint64) uint64 {
	out := p.account(RoleSwapOut)
	tok := p.w.tokens[0].asset
	p.send(t, wallet, 120_000+p.r.Uint64N(80_000),
		native(wallet, p.w.pool, amt),
		ptransfer{kind: chain.KindToken, pos: 2, from: p.w.pool, to: out, asset: tok, amount: tokens})
	p.t.Swapped = add(p.t.Swapped, amt)
	p.t.SwapTokens = add(p.t.SwapTokens, tokens)
	b := p.after(t)
	for i, part := range p.split(tokens, 1+p.r.IntN(3)) {
		if i > 0 {
			b = p.soon(b)
		}
		p.deposit(b, out, p.pickDeposit(), tok, part, false)
	}
	return t
}

// toExchanges deposits amt at one to four of the thief's deposit
// addresses.
func (p *planner) toExchanges(wallet string, amt chain.Amount, t uint64) uint64 {
	b := t
	for i, part := range p.split(amt, 1+p.r.IntN(4)) {
		if i > 0 {
			b = p.soon(b)
		}
		p.deposit(b, wallet, p.pickDeposit(), chain.Native, part, false)
	}
	return b
}

// sweep plans the thief's deposit addresses' sweeps: a deposit address
// sweeps everything it received in earlier blocks, 1 to SweepDelay blocks
// after the first deposit it has not swept yet.
func (p *planner) sweep() {
	for _, ex := range p.w.exchanges {
		for _, d := range ex.thief {
			rs := p.recv[d]
			slices.SortStableFunc(rs, func(a, b receipt) int { return cmp.Compare(a.block, b.block) })
			for _, asset := range []chain.Asset{chain.Native, p.w.tokens[0].asset} {
				var pending chain.Amount
				var due uint64
				for _, r := range rs {
					if r.asset != asset {
						continue
					}
					if !pending.IsZero() && r.block >= due {
						p.sweepOne(due, d, ex.hot, asset, pending)
						pending = chain.Amount{}
					}
					if pending.IsZero() {
						due = r.block + 1 + uint64(p.r.IntN(p.cfg.SweepDelay))
					}
					pending = add(pending, r.amount)
				}
				if !pending.IsZero() {
					p.sweepOne(due, d, ex.hot, asset, pending)
				}
			}
		}
	}
}

func (p *planner) sweepOne(b uint64, from, hot string, asset chain.Asset, v chain.Amount) {
	if asset == chain.Native {
		p.send(b, from, 21_000, native(from, hot, v))
		return
	}
	p.send(b, from, 45_000+p.r.Uint64N(20_000), ptransfer{kind: chain.KindToken, from: from, to: hot, asset: asset, amount: v})
}

// deposit pays v of asset from `from` to the thief's deposit address dep.
func (p *planner) deposit(b uint64, from, dep string, asset chain.Asset, v chain.Amount, viaMixer bool) {
	e := p.exOf[dep]
	if p.acct[dep] == nil {
		p.acct[dep] = &Account{Role: RoleDeposit, Exchange: p.w.exchanges[e].name}
		p.dep[dep] = &Deposit{Exchange: p.w.exchanges[e].name}
	}
	d := p.dep[dep]
	if asset == chain.Native {
		p.send(b, from, 21_000, native(from, dep, v))
		d.Poison = add(d.Poison, v)
		d.Haircut = add(d.Haircut, v)
		if viaMixer {
			d.ViaMixer = add(d.ViaMixer, v)
		}
		p.t.Deposited = add(p.t.Deposited, v)
	} else {
		p.send(b, from, 45_000+p.r.Uint64N(20_000), ptransfer{kind: chain.KindToken, from: from, to: dep, asset: asset, amount: v})
		d.Tokens = add(d.Tokens, v)
	}
	p.recv[dep] = append(p.recv[dep], receipt{b, asset, v})
}

// pickDeposit picks one of the thief's deposit addresses at any exchange.
func (p *planner) pickDeposit() string {
	ex := p.w.exchanges[p.r.IntN(len(p.w.exchanges))]
	return ex.thief[p.r.IntN(len(ex.thief))]
}

// split divides amt into at most k positive parts of random sizes.
func (p *planner) split(amt chain.Amount, k int) []chain.Amount {
	ws := make([]uint64, k)
	var total uint64
	for i := range ws {
		ws[i] = 500 + p.r.Uint64N(1001)
		total += ws[i]
	}
	var parts []chain.Amount
	rest := amt
	for _, w := range ws[:k-1] {
		if v := mulDiv(amt, w, total); !v.IsZero() {
			parts = append(parts, v)
			rest = sub(rest, v)
		}
	}
	// rest is at least amt*ws[k-1]/total, and positive when amt is.
	return append(parts, rest)
}

// account returns a fresh laundering address.
func (p *planner) account(role Role) string {
	a := p.w.names.address(addrLaunder, p.fresh)
	p.fresh++
	p.acct[a] = &Account{Role: role}
	return a
}

// after is when an address that received at block b moves the funds on;
// soon is when a sender's next transaction after one at b goes out.
func (p *planner) after(b uint64) uint64 { return b + 1 + uint64(p.r.IntN(p.cfg.Delay)) }
func (p *planner) soon(b uint64) uint64  { return b + uint64(p.r.IntN(3)) }

func native(from, to string, v chain.Amount) ptransfer {
	return ptransfer{kind: chain.KindNative, from: from, to: to, amount: v}
}

// send plans a transaction and books its transfers in the ledger.
func (p *planner) send(b uint64, from string, gas uint64, trs ...ptransfer) string {
	tx := ptx{block: b, hash: p.w.names.hash(hashLaunderTx, uint64(len(p.txs))), from: from, gas: gas, n: len(trs)}
	copy(tx.tr[:], trs)
	for _, tr := range trs {
		p.book(tr)
	}
	p.txs = append(p.txs, tx)
	return tx.hash
}

func (p *planner) book(tr ptransfer) {
	if a := p.acct[tr.from]; a != nil {
		bal := &a.Balance
		if tr.asset != chain.Native {
			bal = &a.TokenBalance
		}
		v, under := bal.Sub(tr.amount)
		if under && p.err == nil {
			p.err = fmt.Errorf("sim: internal error: the plan overdraws %s by %s", tr.from, sub(tr.amount, *bal))
		}
		*bal = v
	}
	if a := p.acct[tr.to]; a != nil {
		if tr.asset == chain.Native {
			a.Received = add(a.Received, tr.amount)
			a.Balance = add(a.Balance, tr.amount)
		} else {
			a.TokensReceived = add(a.TokensReceived, tr.amount)
			a.TokenBalance = add(a.TokenBalance, tr.amount)
		}
	}
}
