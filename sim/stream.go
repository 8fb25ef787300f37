package sim

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"time"

	"github.com/tracehound/tracehound/chain"
)

// stream builds the blocks: the planned laundering, interleaved with
// background traffic generated on the way.
type stream struct {
	cfg *Config
	w   *world
	r   *rand.Rand

	sender, receiver, contract, exch zipf
	stride                           uint64 // permutes receivers, so that heavy senders and heavy receivers differ

	plan []ptx
	next int    // first planned transaction not yet in a block
	k, n uint64 // next block, counted from the first, and blocks in all

	parent string
	at     time.Time
	serial uint64 // background transactions so far, for their hashes

	// The customers' deposit addresses' unswept balances, and the ring of
	// sweeps due, indexed by block modulo SweepDelay+1.
	pending map[depKey]chain.Amount
	sweeps  [][]depKey
	// notes counts the background's notes in the mixer per denomination,
	// so that it never withdraws more than it deposited.
	notes []int

	oneETH       chain.Amount
	ethMu, tokMu float64 // logs of the median payments, in ETH and in tokens

	// The block being built.
	h     uint64
	base  uint64 // base fee, wei per gas
	txs   []chain.Tx
	trs   []chain.Transfer
	start int // first transfer of the current transaction in trs
}

// depKey names one asset at one customer deposit address; asset is 0 for
// ETH, else a token's index plus one.
type depKey struct {
	ex, idx int32
	asset   int8
}

// zipf draws from a Zipf distribution over [0, n).
type zipf struct{ z *rand.Zipf }

func newZipf(r *rand.Rand, s float64, n int) zipf {
	if n <= 1 {
		return zipf{}
	}
	return zipf{rand.NewZipf(r, s, 1, uint64(n-1))}
}

func (z zipf) next() int {
	if z.z == nil {
		return 0
	}
	return int(z.z.Uint64())
}

func newStream(cfg *Config, w *world, plan []ptx) *stream {
	n := uint64((cfg.Background + cfg.TxsPerBlock - 1) / cfg.TxsPerBlock)
	if len(plan) > 0 {
		n = max(n, plan[len(plan)-1].block+1)
	}
	s := &stream{
		cfg:     cfg,
		w:       w,
		r:       rand.New(rand.NewPCG(cfg.Seed, 2)),
		plan:    plan,
		n:       max(n, 1),
		parent:  w.names.hash(hashBlock, cfg.StartHeight-1),
		at:      cfg.StartTime,
		pending: make(map[depKey]chain.Amount),
		sweeps:  make([][]depKey, cfg.SweepDelay+1),
		notes:   make([]int, len(w.denoms)),
		oneETH:  ether(1),
		ethMu:   math.Log(0.08),
		tokMu:   math.Log(250),
	}
	if cfg.Background > 0 {
		s.sender = newZipf(s.r, cfg.Zipf, len(w.addrs))
		s.receiver = newZipf(s.r, cfg.Zipf, len(w.addrs))
		s.contract = newZipf(s.r, cfg.Zipf, len(w.contracts))
		s.exch = newZipf(s.r, cfg.Zipf, len(w.exchanges))
		na := uint64(len(w.addrs))
		s.stride = uint64(float64(na)*0.618) | 1
		for gcd(s.stride, na) != 1 {
			s.stride += 2
		}
	}
	return s
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// block builds the next block.
func (s *stream) block() *chain.Block {
	k := s.k
	s.k++
	if k > 0 {
		s.at = s.at.Add(s.cfg.BlockTime)
		if s.r.IntN(100) == 0 { // a missed slot
			s.at = s.at.Add(s.cfg.BlockTime)
		}
	}
	s.h = s.cfg.StartHeight + k
	b := &chain.Block{Chain: chain.Ethereum, Height: s.h, Hash: s.w.names.hash(hashBlock, s.h), Parent: s.parent, Time: s.at}
	s.parent = b.Hash
	s.base = uint64(math.Exp(math.Log(12e9) + 0.35*s.r.NormFloat64()))

	// Spread the background evenly over the blocks: block k ends at
	// (k+1)*bg/n transfers, in 128 bits so that no size overflows.
	bg := uint64(s.cfg.Background)
	upto := func(k uint64) uint64 {
		hi, lo := bits.Mul64(k, bg)
		q, _ := bits.Div64(hi, lo, s.n)
		return q
	}
	quota := int(upto(k+1) - upto(k))
	j := s.next
	for j < len(s.plan) && s.plan[j].block == k {
		j++
	}
	launder := s.plan[s.next:j]
	s.next = j

	s.txs = make([]chain.Tx, 0, quota+quota/64+len(launder))
	s.trs = make([]chain.Transfer, 0, quota+2*len(launder))
	s.background(k, quota)
	nb := len(s.txs)
	for i := range launder {
		p := &launder[i]
		s.begin(p.hash, p.from, p.gas)
		for _, tr := range p.tr[:p.n] {
			s.add(tr.kind, tr.pos, tr.from, tr.to, tr.asset, tr.amount)
		}
	}
	txs := s.txs
	if len(launder) > 0 {
		txs = s.interleave(s.txs[:nb], s.txs[nb:])
	}
	for i := range txs {
		txs[i].Index = i
	}
	b.Txs = txs
	s.txs, s.trs = nil, nil
	return b
}

// interleave merges the laundering into the background at random places,
// keeping the order within each.
func (s *stream) interleave(bg, l []chain.Tx) []chain.Tx {
	out := make([]chain.Tx, 0, len(bg)+len(l))
	for len(bg) > 0 || len(l) > 0 {
		if len(l) > 0 && s.r.IntN(len(bg)+len(l)) < len(l) {
			out, l = append(out, l[0]), l[1:]
		} else {
			out, bg = append(out, bg[0]), bg[1:]
		}
	}
	return out
}

// begin starts a transaction; add appends a transfer to it.
func (s *stream) begin(hash, from string, gas uint64) {
	tip := 100_000_000 + s.r.Uint64N(2_000_000_000)
	s.txs = append(s.txs, chain.Tx{Hash: hash, From: from, Fee: chain.NewAmount(gas * (s.base + tip))})
	s.start = len(s.trs)
}

func (s *stream) add(kind chain.TransferKind, pos uint32, from, to string, asset chain.Asset, v chain.Amount) {
	tx := &s.txs[len(s.txs)-1]
	s.trs = append(s.trs, chain.Transfer{
		Chain: chain.Ethereum, Tx: tx.Hash, Kind: kind, Pos: pos, Block: s.h, Time: s.at,
		From: from, To: to, Asset: asset, Amount: v,
	})
	tx.Transfers = s.trs[s.start:len(s.trs):len(s.trs)]
}

// newTx begins a background transaction.
func (s *stream) newTx(from string, gas uint64) {
	s.begin(s.w.names.hash(hashBackgroundTx, s.serial), from, gas)
	s.serial++
}

// background generates quota transfers: the sweeps due first, then
// random traffic.
func (s *stream) background(k uint64, quota int) {
	used := 0
	slots := uint64(len(s.sweeps))
	cur := &s.sweeps[k%slots]
	due := *cur
	i := 0
	for ; i < len(due) && used < quota; i++ {
		s.sweepCustomer(due[i])
		used++
	}
	if i < len(due) {
		// No room in this block: the rest wait for the next.
		nxt := &s.sweeps[(k+1)%slots]
		*nxt = append(*nxt, due[i:]...)
	}
	*cur = due[:0]
	for used < quota {
		used += s.event(k, quota-used)
	}
}

// event generates one background transaction and returns how many
// transfers it made.
func (s *stream) event(k uint64, room int) int {
	switch x := s.r.IntN(1000); {
	case x < 5:
		s.failed()
		return 0
	case x < 640:
	case x < 760:
		s.tokenPayment()
		return 1
	case x < 840:
		s.depositCustomer(k)
		return 1
	case x < 890:
		s.withdrawHot()
		return 1
	case x < 930:
		s.payout()
		return 1
	case x < 960:
		if room >= 2 && s.swap() {
			return 2
		}
	case x < 980:
		if s.mixer() {
			return 1
		}
	default:
		s.bridge()
		return 1
	}
	s.payment()
	return 1
}

// user draws a sender from the pool; recipient draws a receiver other
// than the sender (from is -1 when the sender is not in the pool).
func (s *stream) user() int { return s.sender.next() }

func (s *stream) recipient(from int) int {
	n := uint64(len(s.w.addrs))
	hi, lo := bits.Mul64(uint64(s.receiver.next()), s.stride)
	i := int(bits.Rem64(hi, lo, n))
	if i == from {
		i = (i + 1) % int(n)
	}
	return i
}

func (s *stream) exchange() *exchange { return &s.w.exchanges[s.exch.next()] }

// pickToken favours the stablecoins, as ERC-20 traffic does.
func (s *stream) pickToken() int {
	switch x := s.r.IntN(100); {
	case x < 50:
		return 0
	case x < 80:
		return 1
	case x < 95:
		return 2
	}
	return 3
}

// wei draws a log-normal payment (mu is the log of its median in ETH),
// usually rounded to a power of ten of gwei, as people round.
func (s *stream) wei(mu, sigma float64) chain.Amount {
	x := math.Exp(mu + sigma*s.r.NormFloat64())
	gwei := uint64(min(x, 1e8) * 1e9)
	if k := s.r.IntN(12); k < 10 {
		if p := pow10(k); gwei >= p {
			gwei -= gwei % p
		}
	}
	return scaled(max(gwei, 1), 1e9)
}

// tokens draws a log-normal token payment (mu is the log of its median in
// whole tokens), in hundredths of a token and often rounder.
func (s *stream) tokens(t int, mu float64) chain.Amount {
	x := math.Exp(mu + 2.2*s.r.NormFloat64())
	cents := uint64(min(x, 1e12) * 100)
	if k := s.r.IntN(10); k < 8 {
		if p := pow10(k); cents >= p {
			cents -= cents % p
		}
	}
	return scaled(max(cents, 1), s.w.tokens[t].cent)
}

func (s *stream) payment() {
	from := s.user()
	to := s.recipient(from)
	s.newTx(s.w.addrs[from], 21_000)
	s.add(chain.KindNative, 0, s.w.addrs[from], s.w.addrs[to], chain.Native, s.wei(s.ethMu, 2))
}

func (s *stream) tokenPayment() {
	from := s.user()
	to := s.recipient(from)
	t := s.pickToken()
	s.newTx(s.w.addrs[from], 35_000+s.r.Uint64N(30_000))
	s.add(chain.KindToken, 0, s.w.addrs[from], s.w.addrs[to], s.w.tokens[t].asset, s.tokens(t, s.tokMu))
}

func (s *stream) failed() {
	s.newTx(s.w.addrs[s.user()], 21_000+s.r.Uint64N(80_000))
	s.txs[len(s.txs)-1].Failed = true
}

// depositCustomer pays into a customer's deposit address and schedules
// its sweep. Each user has one deposit address at each exchange, so a
// deposit address gathers the payments of the same few users.
func (s *stream) depositCustomer(k uint64) {
	u := s.user()
	e := s.exch.next()
	ex := &s.w.exchanges[e]
	i := int(mix(uint64(u)<<20|uint64(e)) % uint64(len(ex.customers)))
	key := depKey{ex: int32(e), idx: int32(i)}
	var v chain.Amount
	if s.r.IntN(10) < 7 {
		v = s.wei(s.ethMu+1, 1.8)
		s.newTx(s.w.addrs[u], 21_000)
		s.add(chain.KindNative, 0, s.w.addrs[u], ex.customers[i], chain.Native, v)
	} else {
		t := s.pickToken()
		key.asset = int8(t + 1)
		v = s.tokens(t, s.tokMu+1)
		s.newTx(s.w.addrs[u], 45_000+s.r.Uint64N(20_000))
		s.add(chain.KindToken, 0, s.w.addrs[u], ex.customers[i], s.w.tokens[t].asset, v)
	}
	p, ok := s.pending[key]
	if !ok {
		slot := (k + 1 + uint64(s.r.IntN(s.cfg.SweepDelay))) % uint64(len(s.sweeps))
		s.sweeps[slot] = append(s.sweeps[slot], key)
	}
	s.pending[key] = add(p, v)
}

// sweepCustomer moves a customer deposit address's balance of one asset
// to its exchange's hot wallet.
func (s *stream) sweepCustomer(key depKey) {
	v := s.pending[key]
	delete(s.pending, key)
	ex := &s.w.exchanges[key.ex]
	dep := ex.customers[key.idx]
	if key.asset == 0 {
		s.newTx(dep, 21_000)
		s.add(chain.KindNative, 0, dep, ex.hot, chain.Native, v)
		return
	}
	s.newTx(dep, 45_000+s.r.Uint64N(20_000))
	s.add(chain.KindToken, 0, dep, ex.hot, s.w.tokens[key.asset-1].asset, v)
}

func (s *stream) withdrawHot() {
	ex := s.exchange()
	to := s.w.addrs[s.recipient(-1)]
	if s.r.IntN(4) < 3 {
		s.newTx(ex.hot, 21_000)
		s.add(chain.KindNative, 0, ex.hot, to, chain.Native, s.wei(s.ethMu+1.5, 1.8))
		return
	}
	t := s.pickToken()
	s.newTx(ex.hot, 45_000+s.r.Uint64N(20_000))
	s.add(chain.KindToken, 0, ex.hot, to, s.w.tokens[t].asset, s.tokens(t, s.tokMu+1.5))
}

// payout is a contract paying out inside a user's call, to the caller or
// to someone else, in unrounded wei.
func (s *stream) payout() {
	c := s.w.contracts[s.contract.next()]
	caller := s.user()
	to := caller
	if s.r.IntN(2) == 0 {
		to = s.recipient(caller)
	}
	v := add(s.wei(s.ethMu, 2.2), chain.NewAmount(s.r.Uint64N(1_000_000_000)))
	s.newTx(s.w.addrs[caller], 50_000+s.r.Uint64N(150_000))
	s.add(chain.KindInternal, 1+uint32(s.r.IntN(3)), c, s.w.addrs[to], chain.Native, v)
}

// swap trades ETH for the pool's token or back. It reports false when the
// price makes the trade empty.
func (s *stream) swap() bool {
	rate := mulDiv(s.cfg.TokenPerETH, 990+s.r.Uint64N(11), 1000)
	if rate.IsZero() {
		return false
	}
	u := s.w.addrs[s.user()]
	tok := s.w.tokens[0].asset
	gas := 120_000 + s.r.Uint64N(80_000)
	if s.r.IntN(2) == 0 {
		v := s.wei(s.ethMu, 2)
		out := v.MulDiv(rate, s.oneETH)
		if out.IsZero() {
			return false
		}
		s.newTx(u, gas)
		s.add(chain.KindNative, 0, u, s.w.pool, chain.Native, v)
		s.add(chain.KindToken, 2, s.w.pool, u, tok, out)
		return true
	}
	in := s.tokens(0, s.tokMu)
	v := in.MulDiv(s.oneETH, rate)
	if v.IsZero() {
		return false
	}
	s.newTx(u, gas)
	s.add(chain.KindToken, 0, u, s.w.pool, tok, in)
	s.add(chain.KindInternal, 1, s.w.pool, u, chain.Native, v)
	return true
}

// mixer deposits a note, or withdraws one the background deposited
// earlier. It reports false when the mixer has no denominations.
func (s *stream) mixer() bool {
	if len(s.w.denoms) == 0 {
		return false
	}
	d := s.r.IntN(len(s.w.denoms))
	if s.r.IntN(2) == 0 || s.notes[d] == 0 {
		u := s.w.addrs[s.user()]
		s.newTx(u, 900_000+s.r.Uint64N(100_000))
		s.add(chain.KindNative, 0, u, s.w.mixer, chain.Native, s.w.denoms[d])
		s.notes[d]++
		return true
	}
	s.newTx(s.w.relayer, 340_000+s.r.Uint64N(40_000))
	s.add(chain.KindInternal, 1, s.w.mixer, s.w.addrs[s.recipient(-1)], chain.Native, s.w.denoms[d])
	s.notes[d]--
	return true
}

// bridge sends funds off the chain, or pays out funds coming back.
func (s *stream) bridge() {
	v := s.wei(s.ethMu+2, 1.5)
	if s.r.IntN(10) < 6 {
		u := s.w.addrs[s.user()]
		s.newTx(u, 60_000+s.r.Uint64N(60_000))
		s.add(chain.KindNative, 0, u, s.w.bridge, chain.Native, v)
		return
	}
	s.newTx(s.w.bridgeRelayer, 80_000+s.r.Uint64N(40_000))
	s.add(chain.KindInternal, 1, s.w.bridge, s.w.addrs[s.recipient(-1)], chain.Native, v)
}
