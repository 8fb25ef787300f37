package sim

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/base58"
	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracehound/tracehound/bridge"
	"github.com/tracehound/tracehound/bridge/thorchain"
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/btc"
	"github.com/tracehound/tracehound/tags"
)

// The cross-chain scenario is the laundering of the Bybit theft's second
// stage: stolen ETH split over wallets, each paying some of it straight
// to exchanges and swapping the rest through THORChain, into Bitcoin
// (which then goes down peel chains, dropping amounts at exchanges) and
// into USDT on Tron (deposited at exchanges there). THORChain's side is
// written as the chains record it: on Ethereum, the router's Deposit
// event with its memo, read by the same adapter a node reads logs with;
// on Bitcoin, the vault's payout with OUT:<deposit hash> in an OP_RETURN
// output; on Tron, the vault's USDT transfer with the same memo. Other
// users swap through the same router and vault meanwhile, so a payout is
// found by the deposit it names, never by amount or time.
//
// The truth is exact for the same reason as the Ethereum scenario's: the
// laundering addresses receive nothing but stolen funds or the payouts
// of the thief's swaps, which are wholly stolen, so poison and haircut
// agree. The exchange deposit addresses are the thief's own and are
// attributed (Tags): clustering is what the Ethereum scenario tests.

// CrossConfig describes a cross-chain scenario.
type CrossConfig struct {
	Seed      uint64
	StartTime time.Time
	// Theft is the stolen ETH, in wei; Splits the wallets it is split
	// over, each an equal share (the thief keeps the rest of the
	// division).
	Theft  chain.Amount
	Splits int
	// SwapsPerSplit is the most router deposits a split wallet makes.
	SwapsPerSplit int
	// Tron sends every third split wallet's swaps to USDT on Tron.
	Tron bool
	// Malformed makes one swap's memo one THORChain cannot read: the
	// deposit stays at the router (THORChain would refund it, after the
	// scenario ends).
	Malformed bool
	// PeelHops is each Bitcoin peel chain's length.
	PeelHops int
	// SatPerETH and USDTPerETH are THORChain's prices, in satoshi and
	// USDT base units (6 decimals), before slippage and outbound fees.
	SatPerETH  uint64
	USDTPerETH uint64
	// Background is the ordinary transfers on each chain; Addresses the
	// pool of ordinary addresses on each.
	Background int
	Addresses  int
}

// DefaultCrossConfig returns a scenario of 4,000 ETH split over eight
// wallets, about a sixth of the Bybit laundering's THORChain volume on
// its first day, among 20,000 ordinary transfers on each chain.
func DefaultCrossConfig() CrossConfig {
	theft, _ := chain.ParseAmount("4000123456789012345678")
	return CrossConfig{
		Seed:          1,
		StartTime:     time.Date(2025, 2, 22, 9, 0, 0, 0, time.UTC),
		Theft:         theft,
		Splits:        8,
		SwapsPerSplit: 3,
		Tron:          true,
		Malformed:     true,
		PeelHops:      12,
		SatPerETH:     2_850_000,
		USDTPerETH:    2_700_000_000,
		Background:    20_000,
		Addresses:     2_000,
	}
}

func (c *CrossConfig) validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(c.Splits >= 1 && c.Splits <= 10_000, "Splits %d out of [1, 10000]", c.Splits)
	check(c.SwapsPerSplit >= 1 && c.SwapsPerSplit <= 100, "SwapsPerSplit %d out of [1, 100]", c.SwapsPerSplit)
	check(c.PeelHops >= 1 && c.PeelHops <= 1_000, "PeelHops %d out of [1, 1000]", c.PeelHops)
	check(c.SatPerETH > 0 && c.USDTPerETH > 0, "prices must be positive")
	check(c.Background >= 0 && c.Background <= 10_000_000, "Background %d out of [0, 10000000]", c.Background)
	check(c.Background == 0 || c.Addresses >= 2 && c.Addresses <= 1_000_000, "Addresses %d out of [2, 1000000]", c.Addresses)
	// Each swap must pay out more than THORChain's outbound fee.
	min := ether(uint64(10 * c.Splits * c.SwapsPerSplit))
	check(c.Theft.Cmp(min) >= 0, "Theft %s wei: at least %s for %d swaps of %d wallets", c.Theft, min, c.SwapsPerSplit, c.Splits)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sim: invalid cross-chain config: %w", err)
	}
	return nil
}

// CrossTruth is what happened to the stolen funds, on every chain.
//
// Conservation, per chain and asset: on Ethereum, Theft equals the ETH
// deposited at exchanges, plus what went into the router (Swaps[].In),
// plus what laundering addresses hold; on Bitcoin and Tron, what the
// swaps paid out equals what was deposited at exchanges, plus the fees
// paid (Bitcoin), plus what is held. Check verifies it.
type CrossTruth struct {
	Victim     string       `json:"victim"`
	Thief      string       `json:"thief"`
	Theft      chain.Amount `json:"theft"`
	TheftTx    string       `json:"theft_tx"`
	TheftBlock uint64       `json:"theft_block"`
	Splits     []string     `json:"splits"`
	// Router is THORChain's router on Ethereum; Vaults its vaults on each
	// chain.
	Router string                 `json:"router"`
	Vaults map[chain.Chain]string `json:"vaults"`
	// USDT is the Tron asset the Tron swaps pay.
	USDT  chain.Asset `json:"usdt"`
	Swaps []CrossSwap `json:"swaps"`
	// Deposits are the exchange deposits of stolen funds, per chain,
	// address and asset.
	Deposits []Holding `json:"deposits"`
	// Held is what laundering addresses still hold at the end.
	Held []Holding `json:"held"`
	// Fees are the network fees paid out of stolen funds, per chain.
	Fees map[chain.Chain]chain.Amount `json:"fees"`
	// Exchanges are the exchanges' addresses on each chain.
	Exchanges []CrossExchange `json:"exchanges"`
}

// CrossSwap is one of the thief's deposits into THORChain's router.
type CrossSwap struct {
	DepositTx string       `json:"deposit_tx"`
	From      string       `json:"from"`
	In        chain.Amount `json:"in"` // wei
	Memo      string       `json:"memo"`
	// Unreadable is why THORChain cannot read the memo; the swap then
	// has no payout.
	Unreadable string `json:"unreadable,omitempty"`
	// The payout: on ToChain, transaction PayoutTx (output PayoutPos on
	// Bitcoin), Paid of Asset to Recipient.
	ToChain   chain.Chain  `json:"to_chain,omitempty"`
	PayoutTx  string       `json:"payout_tx,omitempty"`
	PayoutPos uint32       `json:"payout_pos,omitempty"`
	Recipient string       `json:"recipient,omitempty"`
	Asset     chain.Asset  `json:"asset,omitempty"`
	Paid      chain.Amount `json:"paid,omitzero"`
}

// Holding is an amount of an asset at an address of a chain.
type Holding struct {
	Chain    chain.Chain  `json:"chain"`
	Address  string       `json:"address"`
	Asset    chain.Asset  `json:"asset,omitempty"`
	Amount   chain.Amount `json:"amount"`
	Exchange string       `json:"exchange,omitempty"`
}

// CrossExchange is an exchange's addresses on one chain: a hot wallet,
// and the deposit addresses of the thief's accounts.
type CrossExchange struct {
	Name     string      `json:"name"`
	Chain    chain.Chain `json:"chain"`
	Hot      string      `json:"hot"`
	Deposits []string    `json:"deposits"`
}

// Tags returns the attributions a trace starts from: each exchange's hot
// wallet and the thief's deposit addresses at it, on every chain, and
// THORChain's router and vaults.
func (t *CrossTruth) Tags() []tags.Tag {
	var out []tags.Tag
	tag := func(c chain.Chain, addr, entity, label string, cat tags.Category) {
		a := chain.Address{Chain: c, Network: chain.Mainnet, Kind: "account", Value: addr}
		if c == chain.Bitcoin {
			if p, err := (btc.Codec{}).Parse(addr); err == nil {
				a = p
			}
		}
		out = append(out, tags.Tag{Address: a, Entity: entity, Label: label, Category: cat, Source: "sim",
			Confidence: tags.Confidence("ownership"), ConfidenceLevel: "ownership"})
	}
	for _, x := range t.Exchanges {
		tag(x.Chain, x.Hot, x.Name, x.Name+": Hot Wallet", tags.Exchange)
		for _, d := range x.Deposits {
			tag(x.Chain, d, x.Name, x.Name+": Deposit", tags.Exchange)
		}
	}
	tag(chain.Ethereum, t.Router, "THORChain", "THORChain: Router", tags.Bridge)
	for _, c := range slices.Sorted(maps.Keys(t.Vaults)) {
		tag(c, t.Vaults[c], "THORChain", "THORChain: Asgard Vault", tags.Bridge)
	}
	return out
}

// Check verifies the truth's conservation per chain and asset.
func (t *CrossTruth) Check() error {
	type key struct {
		c chain.Chain
		a chain.Asset
	}
	in := map[key]chain.Amount{{chain.Ethereum, chain.Native}: t.Theft}
	out := map[key]chain.Amount{}
	for _, s := range t.Swaps {
		out[key{chain.Ethereum, chain.Native}] = add(out[key{chain.Ethereum, chain.Native}], s.In)
		if s.Unreadable == "" {
			k := key{s.ToChain, s.Asset}
			in[k] = add(in[k], s.Paid)
		}
	}
	for _, h := range append(slices.Clone(t.Deposits), t.Held...) {
		k := key{h.Chain, h.Asset}
		out[k] = add(out[k], h.Amount)
	}
	for c, f := range t.Fees {
		k := key{c, chain.Native}
		out[k] = add(out[k], f)
	}
	var errs []error
	for k, v := range in {
		if v.Cmp(out[k]) != 0 {
			errs = append(errs, fmt.Errorf("sim: %s %q: %s in, %s out", k.c, k.a, v, out[k]))
		}
	}
	for k, v := range out {
		if _, ok := in[k]; !ok && !v.IsZero() {
			errs = append(errs, fmt.Errorf("sim: %s %q: %s out of nothing", k.c, k.a, v))
		}
	}
	return errors.Join(errs...)
}

// CrossScenario is a generated cross-chain scenario: its truth and each
// chain's blocks, in order, every height from the first to the last.
type CrossScenario struct {
	Truth  CrossTruth
	Blocks map[chain.Chain][]*chain.Block
	seed   uint64
}

// Source returns chain c's blocks as a stream that ingest.RunStream
// reads like block files (ingest.StreamSource), from the first.
func (s *CrossScenario) Source(c chain.Chain) *BlockSource {
	return &BlockSource{c: c, id: fmt.Sprintf("sim-cross:%d", s.seed), blocks: s.Blocks[c]}
}

// BlockSource is one chain of a cross-chain scenario as an ingest
// stream source.
type BlockSource struct {
	c      chain.Chain
	id     string
	blocks []*chain.Block
	k      int
}

// Chain is the source's chain.
func (b *BlockSource) Chain() chain.Chain { return b.c }

// ID names the source by the scenario's seed.
func (b *BlockSource) ID() string { return b.id }

// Next returns the next block, or io.EOF after the last.
func (b *BlockSource) Next(ctx context.Context) (*chain.Block, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if b.k >= len(b.blocks) {
		return nil, io.EOF
	}
	b.k++
	return b.blocks[b.k-1], nil
}

// Progress reports the blocks read and the blocks in all.
func (b *BlockSource) Progress() (done, total int64) { return int64(b.k), int64(len(b.blocks)) }

// First is the first block's height, where an ingest starts.
func (b *BlockSource) First() uint64 {
	if len(b.blocks) == 0 {
		return 0
	}
	return b.blocks[0].Height
}

// Chains lists the scenario's chains in the order to ingest them.
func (s *CrossScenario) Chains() []chain.Chain {
	out := []chain.Chain{chain.Ethereum, chain.Bitcoin}
	if len(s.Blocks[chain.Tron]) > 0 {
		out = append(out, chain.Tron)
	}
	return out
}

// Tron's USDT contract, which THORChain's TRON.USDT pool pays.
const tronUSDT = chain.Asset("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t")

// thorRouter is THORChain's Ethereum router (V4.1), one the adapter trusts.
const thorRouter = "0xd37bbe5744d730a1d98d8dc97c42f0ca46ad7146"

// Address and hash kinds of the cross-chain scenario, apart from the
// Ethereum scenario's.
const (
	xEth uint64 = 32 + iota
	xBtc
	xTron
	xHash
)

// chain timelines.
type timeline struct {
	c      chain.Chain
	height uint64
	every  time.Duration
	txs    []plannedTx
}

type plannedTx struct {
	seq  int
	at   time.Time
	tx   chain.Tx
	dep  *thorDeposit // a router Deposit log the tx emits
	pays *chain.BridgePayout
}

type thorDeposit struct {
	vault string
	v     chain.Amount
	memo  string
}

type crossGen struct {
	cfg   *CrossConfig
	r     *rand.Rand
	names namer
	seq   int
	lines map[chain.Chain]*timeline
	truth *CrossTruth
	// btcCoins are unspent Bitcoin outputs of the background, per holder.
	btcCoins map[string][]coin
	vaultBTC coin
	err      error // the first swap too small to pay its outbound fee
}

// payout is what THORChain pays for out before its outbound fee fee; a
// swap that cannot pay the fee is the config's error (prices too low).
func (g *crossGen) payout(out chain.Amount, fee uint64) chain.Amount {
	paid, under := out.Sub(chain.NewAmount(fee))
	if (under || paid.IsZero()) && g.err == nil {
		g.err = fmt.Errorf("sim: invalid cross-chain config: a swap pays %s, not above THORChain's outbound fee of %d: raise the prices or the theft", out, fee)
	}
	return paid
}

type coin struct {
	tx    string
	index uint32
	addr  string
	value uint64
}

// GenerateCross generates a cross-chain scenario.
func GenerateCross(cfg CrossConfig) (*CrossScenario, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	g := &crossGen{cfg: &cfg, r: rand.New(rand.NewPCG(cfg.Seed, 0x63726f7373)), names: newNamer(cfg.Seed ^ 0x63726f7373),
		lines: map[chain.Chain]*timeline{
			chain.Ethereum: {c: chain.Ethereum, height: 21_902_000, every: 12 * time.Second},
			chain.Bitcoin:  {c: chain.Bitcoin, height: 884_500, every: 10 * time.Minute},
			chain.Tron:     {c: chain.Tron, height: 69_800_000, every: 3 * time.Second},
		},
		btcCoins: map[string][]coin{},
	}
	sc, err := g.run()
	if err != nil {
		return nil, err
	}
	if err := sc.Truth.Check(); err != nil {
		return nil, fmt.Errorf("sim: the cross-chain scenario does not add up: %w", err)
	}
	return sc, nil
}

func (g *crossGen) ethAddr(i uint64) string { return g.names.address(xEth, i) }

// btcAddr is a P2WPKH address, or one in three a P2PKH, as wallets mix.
func (g *crossGen) btcAddr(i uint64) string {
	h := g.names.hash(xBtc, i)
	raw, _ := hex.DecodeString(h[2:42])
	if i%3 == 2 {
		a, _ := btcutil.NewAddressPubKeyHash(raw, &chaincfg.MainNetParams)
		return a.EncodeAddress()
	}
	a, _ := btcutil.NewAddressWitnessPubKeyHash(raw, &chaincfg.MainNetParams)
	return a.EncodeAddress()
}

// tronAddr is a Tron address: base58check of 0x41 and 20 bytes.
func (g *crossGen) tronAddr(i uint64) string {
	h := g.names.hash(xTron, i)
	raw, _ := hex.DecodeString(h[2:42])
	return base58.CheckEncode(raw, 0x41)
}

// hash is a transaction hash: 0x-prefixed on Ethereum, bare elsewhere.
func (g *crossGen) hash(c chain.Chain) string {
	g.seq++
	h := g.names.hash(xHash, uint64(g.seq))
	if c == chain.Ethereum {
		return h
	}
	return h[2:]
}

// add plans tx on chain c at time at. The pointer it returns is good
// until the next add, to attach the events the transaction emits.
func (g *crossGen) add(c chain.Chain, at time.Time, tx chain.Tx) *plannedTx {
	g.seq++
	l := g.lines[c]
	l.txs = append(l.txs, plannedTx{seq: g.seq, at: at, tx: tx})
	return &l.txs[len(l.txs)-1]
}

func coinTransfer(from, to string, v chain.Amount) chain.Transfer {
	return chain.Transfer{Kind: chain.KindNative, From: from, To: to, Amount: v}
}

func (g *crossGen) between(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(g.r.Int64N(int64(hi-lo)+1))
}

// Address numbering within each chain's kind.
const (
	nVictim = iota
	nThief
	nVault
	nHot      = 100
	nDeposit  = 1_000
	nLaunder  = 10_000
	nPool     = 1_000_000
	exchanges = 3
)

func (g *crossGen) run() (*CrossScenario, error) {
	cfg := g.cfg
	t := &CrossTruth{Theft: cfg.Theft, Router: thorRouter, Vaults: map[chain.Chain]string{}, Fees: map[chain.Chain]chain.Amount{}, USDT: tronUSDT}
	g.truth = t
	t.Victim, t.Thief = g.ethAddr(nVictim), g.ethAddr(nThief)
	t.Vaults[chain.Ethereum], t.Vaults[chain.Bitcoin] = g.ethAddr(nVault), g.btcAddr(nVault)
	if cfg.Tron {
		t.Vaults[chain.Tron] = g.tronAddr(nVault)
	}
	// Three exchanges, each on every chain: one freeze request reaches
	// all of an exchange's deposit addresses.
	addrOf := map[chain.Chain]func(uint64) string{chain.Ethereum: g.ethAddr, chain.Bitcoin: g.btcAddr, chain.Tron: g.tronAddr}
	deps := map[chain.Chain][]Holding{}
	for _, c := range []chain.Chain{chain.Ethereum, chain.Bitcoin, chain.Tron} {
		if c == chain.Tron && !cfg.Tron {
			continue
		}
		for x := range exchanges {
			ex := CrossExchange{Name: fmt.Sprintf("Exchange %c", 'A'+x), Chain: c, Hot: addrOf[c](nHot + uint64(x))}
			for d := range 3 {
				a := addrOf[c](nDeposit + uint64(10*x+d))
				ex.Deposits = append(ex.Deposits, a)
				deps[c] = append(deps[c], Holding{Chain: c, Address: a, Exchange: ex.Name})
			}
			t.Exchanges = append(t.Exchanges, ex)
		}
	}
	if cfg.Tron {
		for i := range deps[chain.Tron] {
			deps[chain.Tron][i].Asset = tronUSDT
		}
	}
	deposit := func(c chain.Chain, v chain.Amount) string {
		ds := deps[c]
		i := g.r.IntN(len(ds))
		ds[i].Amount = add(ds[i].Amount, v)
		return ds[i].Address
	}
	var launder uint64 = nLaunder
	next := func(c chain.Chain) string { launder++; return addrOf[c](launder) }

	eth := g.lines[chain.Ethereum]
	start := cfg.StartTime
	at := start.Add(20 * eth.every)
	theft := g.add(chain.Ethereum, at, chain.Tx{Hash: g.hash(chain.Ethereum), From: t.Victim, Fee: chain.NewAmount(21_000 * 3_000_000_000),
		Transfers: []chain.Transfer{coinTransfer(t.Victim, t.Thief, cfg.Theft)}})
	t.TheftTx = theft.tx.Hash
	t.TheftBlock = eth.height + 20

	share := mulDiv(cfg.Theft, 1, uint64(cfg.Splits))
	kept := sub(cfg.Theft, mulDiv(share, uint64(cfg.Splits), 1))
	if !kept.IsZero() {
		t.Held = append(t.Held, Holding{Chain: chain.Ethereum, Address: t.Thief, Amount: kept})
	}
	type swapPlan struct {
		at   time.Time
		swap *CrossSwap
	}
	var swaps []swapPlan
	var mine []*CrossSwap // the thief's, filled in as the payouts are made
	malformed := cfg.Malformed
	for i := range cfg.Splits {
		split := next(chain.Ethereum)
		t.Splits = append(t.Splits, split)
		at = at.Add(g.between(eth.every, 3*eth.every))
		g.add(chain.Ethereum, at, chain.Tx{Hash: g.hash(chain.Ethereum), From: t.Thief, Fee: chain.NewAmount(21_000 * 3_000_000_000),
			Transfers: []chain.Transfer{coinTransfer(t.Thief, split, share)}})
		left := share
		sat := at
		// Some straight to an exchange, a round part as people send.
		if g.r.IntN(4) != 0 {
			v := roundDown(mulDiv(share, uint64(5+g.r.IntN(16)), 100), 2)
			sat = sat.Add(g.between(eth.every, 10*eth.every))
			to := deposit(chain.Ethereum, v)
			g.add(chain.Ethereum, sat, chain.Tx{Hash: g.hash(chain.Ethereum), From: split, Fee: chain.NewAmount(21_000 * 3_000_000_000),
				Transfers: []chain.Transfer{coinTransfer(split, to, v)}})
			left = sub(left, v)
		}
		toTron := cfg.Tron && i%3 == 2
		n := 1 + g.r.IntN(cfg.SwapsPerSplit)
		for k := range n {
			v := left
			if k < n-1 {
				v = roundDown(mulDiv(left, uint64(30+g.r.IntN(30)), 100), 2)
			}
			left = sub(left, v)
			sat = sat.Add(g.between(eth.every, 10*eth.every))
			s := &CrossSwap{From: split, In: v}
			if toTron {
				s.ToChain, s.Asset, s.Recipient = chain.Tron, tronUSDT, next(chain.Tron)
				s.Paid = g.payout(mulDiv(mulDiv(v, cfg.USDTPerETH, 1e18), uint64(9_940+g.r.IntN(55)), 10_000), 1_500_000)
				s.Memo = "=:TRON.USDT-TR7NHQJEKQXGTCI8Q8ZY4PL8OTSZGJLJ6T:" + s.Recipient + ":" + limit(mulDiv(s.Paid, 100, 1), 300)
			} else {
				s.ToChain, s.Recipient = chain.Bitcoin, next(chain.Bitcoin)
				s.Paid = g.payout(mulDiv(mulDiv(v, cfg.SatPerETH, 1e18), uint64(9_940+g.r.IntN(55)), 10_000), 20_000)
				s.Memo = g.btcMemo(s.Recipient, s.Paid)
			}
			if malformed && k == n-1 {
				// A typo in the function: THORChain cannot read it.
				malformed = false
				s.Memo = "SWAPP:BTC.BTC:" + s.Recipient
				s.ToChain, s.Recipient, s.Asset, s.Paid = "", "", "", chain.Amount{}
				if _, err := thorchain.Parse(s.Memo); err != nil {
					s.Unreadable = err.Error()
				} else {
					return nil, fmt.Errorf("sim: memo %q was to be malformed", s.Memo)
				}
			}
			p := g.add(chain.Ethereum, sat, chain.Tx{Hash: g.hash(chain.Ethereum), From: split, Fee: chain.NewAmount(80_000 * 3_000_000_000),
				Transfers: []chain.Transfer{coinTransfer(split, thorRouter, v), {Kind: chain.KindInternal, Pos: 1, From: thorRouter, To: t.Vaults[chain.Ethereum], Amount: v}}})
			p.dep = &thorDeposit{vault: t.Vaults[chain.Ethereum], v: v, memo: s.Memo}
			s.DepositTx = p.tx.Hash
			mine = append(mine, s)
			if s.Unreadable == "" {
				swaps = append(swaps, swapPlan{sat, s})
			}
		}
		if !left.IsZero() {
			return nil, fmt.Errorf("sim: split %s left %s", split, left)
		}
	}
	if g.err != nil {
		return nil, g.err
	}
	ethEnd := at.Add(30 * eth.every)

	// Other users swap ETH to BTC through the same router meanwhile: their
	// payouts come from the same vault, in between the thief's.
	others := max(cfg.Background/500, 4)
	for i := range others {
		from := g.ethAddr(nPool + uint64(g.r.IntN(max(cfg.Addresses, 1))))
		v := roundDown(scaled(uint64(1+g.r.IntN(50)), 1e17), 1)
		oat := start.Add(g.between(0, ethEnd.Sub(start)))
		s := &CrossSwap{From: from, In: v, ToChain: chain.Bitcoin, Recipient: g.btcAddr(nPool + 500_000 + uint64(i))}
		s.Paid = g.payout(mulDiv(v, cfg.SatPerETH, 1e18), 20_000)
		s.Memo = g.btcMemo(s.Recipient, s.Paid)
		p := g.add(chain.Ethereum, oat, chain.Tx{Hash: g.hash(chain.Ethereum), From: from, Fee: chain.NewAmount(80_000 * 3_000_000_000),
			Transfers: []chain.Transfer{coinTransfer(from, thorRouter, v), {Kind: chain.KindInternal, Pos: 1, From: thorRouter, To: t.Vaults[chain.Ethereum], Amount: v}}})
		p.dep = &thorDeposit{vault: t.Vaults[chain.Ethereum], v: v, memo: s.Memo}
		s.DepositTx = p.tx.Hash
		swaps = append(swaps, swapPlan{oat, s})
	}
	if g.err != nil {
		return nil, g.err
	}
	theirs := func(s *CrossSwap) bool { return !slices.Contains(mine, s) }

	// Bitcoin: the vault's coin, then the payouts in the order THORChain
	// sends them, each spending the last one's change.
	bl := g.lines[chain.Bitcoin]
	vaultCoin := g.add(chain.Bitcoin, start, chain.Tx{Hash: g.hash(chain.Bitcoin), Coinbase: true,
		Outputs: []chain.Output{{Index: 0, Address: t.Vaults[chain.Bitcoin], Value: 50_000 * 1e8, Script: "p2wpkh"}}})
	g.vaultBTC = coin{vaultCoin.tx.Hash, 0, t.Vaults[chain.Bitcoin], 50_000 * 1e8}
	for _, s := range swaps {
		s.at = s.at.Add(g.between(2*time.Minute, 25*time.Minute))
	}
	slices.SortStableFunc(swaps, func(a, b swapPlan) int { return a.at.Compare(b.at) })
	btcEnd, tronEnd := start.Add(2*bl.every), start
	for _, sp := range swaps {
		s := sp.swap
		memo := "OUT:" + strings.TrimPrefix(thorchain.PayoutKey(s.DepositTx), thorchain.BridgeName+"/")
		if s.ToChain == chain.Tron {
			s.PayoutTx = g.hash(chain.Tron)
			p := g.add(chain.Tron, sp.at, chain.Tx{Hash: s.PayoutTx, From: t.Vaults[chain.Tron],
				Transfers: []chain.Transfer{{Kind: chain.KindToken, From: t.Vaults[chain.Tron], To: s.Recipient, Asset: tronUSDT, Amount: s.Paid}}})
			po, _ := thorchain.PayoutFromMemo(memo, s.PayoutTx, 0)
			po.To, po.Asset, po.Amount = s.Recipient, tronUSDT, s.Paid
			rec := po.Record()
			p.pays = &rec
			tronEnd = later(tronEnd, g.tronLaunder(sp.at, s, next, deposit))
			continue
		}
		// Bitcoin: recipient, change, memo, in THORChain's order.
		paid, _ := s.Paid.Uint64()
		fee := uint64(3_000 + g.r.IntN(4_000))
		vc := g.vaultBTC
		if vc.value < paid+fee+1 {
			return nil, errors.New("sim: the Bitcoin vault ran dry: lower the theft or raise SatPerETH's vault")
		}
		s.PayoutTx = g.hash(chain.Bitcoin)
		tx := chain.Tx{Hash: s.PayoutTx, Fee: chain.NewAmount(fee),
			Inputs: []chain.Input{{PrevTx: vc.tx, PrevIndex: vc.index, Address: vc.addr, Value: vc.value}},
			Outputs: []chain.Output{
				{Index: 0, Address: s.Recipient, Value: paid, Script: btcScript(s.Recipient)},
				{Index: 1, Address: vc.addr, Value: vc.value - paid - fee, Script: "p2wpkh"},
				{Index: 2, Script: "nulldata"},
			}}
		s.PayoutPos = 0
		p := g.add(chain.Bitcoin, sp.at, tx)
		po, _ := thorchain.PayoutFromMemo(memo, s.PayoutTx, 2)
		rec := po.Record()
		p.pays = &rec
		g.vaultBTC = coin{s.PayoutTx, 1, vc.addr, vc.value - paid - fee}
		if theirs(s) {
			continue
		}
		btcEnd = later(btcEnd, g.peel(sp.at, coin{s.PayoutTx, 0, s.Recipient, paid}, next, deposit))
	}

	g.background(chain.Ethereum, start, ethEnd)
	g.background(chain.Bitcoin, start, btcEnd)
	if cfg.Tron {
		g.background(chain.Tron, start, later(tronEnd, start.Add(time.Hour)))
	}
	for _, s := range mine {
		t.Swaps = append(t.Swaps, *s)
	}
	for _, c := range []chain.Chain{chain.Ethereum, chain.Bitcoin, chain.Tron} {
		for _, h := range deps[c] {
			if !h.Amount.IsZero() {
				t.Deposits = append(t.Deposits, h)
			}
		}
	}
	sc := &CrossScenario{Truth: *t, Blocks: map[chain.Chain][]*chain.Block{}, seed: cfg.Seed}
	for c, l := range g.lines {
		if c == chain.Tron && !cfg.Tron {
			continue
		}
		bs, err := g.blocks(l)
		if err != nil {
			return nil, err
		}
		sc.Blocks[c] = bs
	}
	return sc, nil
}

// btcMemo is a swap memo to Bitcoin in one of the forms wallets write:
// the full asset name or its short code, a limit or none, a streaming
// swap, an affiliate's fee.
func (g *crossGen) btcMemo(to string, paid chain.Amount) string {
	lim := limit(paid, 300)
	switch g.r.IntN(5) {
	case 0:
		return "=:BTC.BTC:" + to
	case 1:
		return "SWAP:BTC.BTC:" + to + ":" + lim
	case 2:
		return "=:b:" + to + ":0/3/0"
	case 3:
		return "s:BTC.BTC:" + to + ":" + lim + "/1/0:t:15"
	}
	return "=:BTC.BTC:" + to + ":" + lim
}

// limit is the least a swap accepts, below what it will pay by bps, in
// THORChain's 1e8 units (satoshi for BTC; USDT's 6 decimals scaled up).
func limit(paid chain.Amount, bps uint64) string {
	return mulDiv(paid, 10_000-bps, 10_000).String()
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func btcScript(addr string) string {
	if strings.HasPrefix(addr, "bc1q") {
		return "p2wpkh"
	}
	return "p2pkh"
}

// peel sends a payout down a peel chain: each hop drops a part at an
// exchange and passes the rest, less the fee, to a new address; the last
// keeps what is left. It returns the last transaction's time.
func (g *crossGen) peel(at time.Time, c coin, next func(chain.Chain) string, deposit func(chain.Chain, chain.Amount) string) time.Time {
	bl := g.lines[chain.Bitcoin]
	t := g.truth
	for range g.cfg.PeelHops {
		at = at.Add(g.between(bl.every, 3*bl.every))
		fee := uint64(1_500 + g.r.IntN(6_000))
		drop := c.value * uint64(4+g.r.IntN(12)) / 100
		if drop == 0 || c.value < drop+fee+546 {
			break
		}
		rest := c.value - drop - fee
		to, on := deposit(chain.Bitcoin, chain.NewAmount(drop)), next(chain.Bitcoin)
		outs := []chain.Output{{Address: to, Value: drop, Script: btcScript(to)}, {Address: on, Value: rest, Script: btcScript(on)}}
		if g.r.IntN(2) == 0 {
			outs[0], outs[1] = outs[1], outs[0]
		}
		for i := range outs {
			outs[i].Index = uint32(i)
		}
		h := g.hash(chain.Bitcoin)
		g.add(chain.Bitcoin, at, chain.Tx{Hash: h, Fee: chain.NewAmount(fee),
			Inputs: []chain.Input{{PrevTx: c.tx, PrevIndex: c.index, Address: c.addr, Value: c.value}}, Outputs: outs})
		t.Fees[chain.Bitcoin] = add(t.Fees[chain.Bitcoin], chain.NewAmount(fee))
		idx := uint32(1)
		if outs[0].Address == on {
			idx = 0
		}
		c = coin{h, idx, on, rest}
	}
	t.Held = append(t.Held, Holding{Chain: chain.Bitcoin, Address: c.addr, Amount: chain.NewAmount(c.value)})
	return at
}

// tronLaunder deposits a Tron payout at exchanges: a part straight from
// the recipient, the rest through one more address, which pays it in two.
// It returns the last transfer's time.
func (g *crossGen) tronLaunder(at time.Time, s *CrossSwap, next func(chain.Chain) string, deposit func(chain.Chain, chain.Amount) string) time.Time {
	tl := g.lines[chain.Tron]
	usdt := func(from, to string, v chain.Amount) chain.Tx {
		return chain.Tx{Hash: g.hash(chain.Tron), From: from, Fee: chain.NewAmount(13_000_000),
			Transfers: []chain.Transfer{{Kind: chain.KindToken, From: from, To: to, Asset: tronUSDT, Amount: v}}}
	}
	part := roundDown(mulDiv(s.Paid, uint64(30+g.r.IntN(40)), 100), 2)
	at = at.Add(g.between(5*tl.every, 60*tl.every))
	g.add(chain.Tron, at, usdt(s.Recipient, deposit(chain.Tron, part), part))
	mid := next(chain.Tron)
	rest := sub(s.Paid, part)
	at = at.Add(g.between(5*tl.every, 60*tl.every))
	g.add(chain.Tron, at, usdt(s.Recipient, mid, rest))
	// The second address pays in two parts, neither a whole deposit, as
	// launderers split to stay under limits (and as no exchange's deposit
	// address sweeps).
	half := roundDown(mulDiv(rest, uint64(35+g.r.IntN(30)), 100), 2)
	at = at.Add(g.between(5*tl.every, 60*tl.every))
	g.add(chain.Tron, at, usdt(mid, deposit(chain.Tron, half), half))
	at = at.Add(g.between(5*tl.every, 60*tl.every))
	g.add(chain.Tron, at, usdt(mid, deposit(chain.Tron, sub(rest, half)), sub(rest, half)))
	return at
}

// background adds ordinary transfers among the pool and the exchanges'
// hot wallets over [from, to): never to a laundering address.
func (g *crossGen) background(c chain.Chain, from, to time.Time) {
	n, pool := g.cfg.Background, g.cfg.Addresses
	if n == 0 {
		return
	}
	var hots []string
	for _, x := range g.truth.Exchanges {
		if x.Chain == c {
			hots = append(hots, x.Hot)
		}
	}
	pick := func() uint64 { return nPool + uint64(g.r.IntN(pool)) }
	span := to.Sub(from)
	times := make([]time.Time, n)
	for i := range times {
		times[i] = from.Add(time.Duration(g.r.Int64N(int64(span))))
	}
	slices.SortFunc(times, time.Time.Compare)
	switch c {
	case chain.Ethereum:
		for _, at := range times {
			a, b := g.ethAddr(pick()), g.ethAddr(pick())
			if g.r.IntN(5) == 0 {
				b = hots[g.r.IntN(len(hots))]
			}
			v := scaled(uint64(1+g.r.IntN(5_000)), 1e15)
			g.add(c, at, chain.Tx{Hash: g.hash(c), From: a, Fee: chain.NewAmount(21_000 * 3_000_000_000), Transfers: []chain.Transfer{coinTransfer(a, b, v)}})
		}
	case chain.Tron:
		for _, at := range times {
			a, b := g.tronAddr(pick()), g.tronAddr(pick())
			if g.r.IntN(5) == 0 {
				b = hots[g.r.IntN(len(hots))]
			}
			v := chain.NewAmount(uint64(1+g.r.IntN(100_000)) * 10_000)
			g.add(c, at, chain.Tx{Hash: g.hash(c), From: a, Fee: chain.NewAmount(13_000_000),
				Transfers: []chain.Transfer{{Kind: chain.KindToken, From: a, To: b, Asset: tronUSDT, Amount: v}}})
		}
	case chain.Bitcoin:
		// The pool's first 2,000 addresses start with a coin each; each
		// payment spends one of the payer's coins into the payment and
		// its change.
		fund := chain.Tx{Hash: g.hash(c), Coinbase: true}
		holders := make([]string, 0, min(pool, 2_000))
		for i := range cap(holders) {
			a := g.btcAddr(nPool + uint64(i))
			holders = append(holders, a)
			fund.Outputs = append(fund.Outputs, chain.Output{Index: uint32(i), Address: a, Value: 10_000_000 + uint64(g.r.IntN(1e9)), Script: btcScript(a)})
		}
		g.add(c, from, fund)
		for _, o := range fund.Outputs {
			g.btcCoins[o.Address] = append(g.btcCoins[o.Address], coin{fund.Hash, o.Index, o.Address, o.Value})
		}
		for _, at := range times {
			payer := holders[g.r.IntN(len(holders))]
			cs := g.btcCoins[payer]
			if len(cs) == 0 {
				continue
			}
			cn := cs[len(cs)-1]
			fee := uint64(1_000 + g.r.IntN(3_000))
			if cn.value < fee+2*546 {
				continue
			}
			g.btcCoins[payer] = cs[:len(cs)-1]
			to := holders[g.r.IntN(len(holders))]
			if g.r.IntN(5) == 0 {
				to = hots[g.r.IntN(len(hots))]
			}
			pay := 546 + uint64(g.r.Int64N(int64(cn.value-fee-2*546)))
			h := g.hash(c)
			tx := chain.Tx{Hash: h, Fee: chain.NewAmount(fee), Inputs: []chain.Input{{PrevTx: cn.tx, PrevIndex: cn.index, Address: cn.addr, Value: cn.value}},
				Outputs: []chain.Output{{Index: 0, Address: to, Value: pay, Script: btcScript(to)}, {Index: 1, Address: payer, Value: cn.value - pay - fee, Script: btcScript(payer)}}}
			g.add(c, at.Add(time.Nanosecond), tx)
			g.btcCoins[to] = append(g.btcCoins[to], coin{h, 0, to, pay})
			g.btcCoins[payer] = append(g.btcCoins[payer], coin{h, 1, payer, cn.value - pay - fee})
		}
	}
}

// blocks lays a timeline's transactions into blocks: each in the block
// of its time, in the order planned (a spend after what it spends), with
// a block at every height from the first to the last.
func (g *crossGen) blocks(l *timeline) ([]*chain.Block, error) {
	start := g.cfg.StartTime
	slot := func(at time.Time) int64 { return int64(at.Sub(start) / l.every) }
	slices.SortStableFunc(l.txs, func(a, b plannedTx) int {
		return cmp.Or(cmp.Compare(slot(a.at), slot(b.at)), cmp.Compare(a.seq, b.seq))
	})
	if len(l.txs) == 0 {
		return nil, nil
	}
	last := slot(l.txs[len(l.txs)-1].at) + 1
	adapters := bridge.Set{thorchain.Router{Routers: thorchain.EthereumRouters}}
	out := make([]*chain.Block, 0, last+1)
	k := 0
	for s := int64(0); s <= last; s++ {
		h := l.height + uint64(s)
		// A block's time is its slot's end: no transaction is older.
		b := &chain.Block{Chain: l.c, Height: h, Time: start.Add(time.Duration(s+1) * l.every), Hash: g.blockHash(l.c, h), Parent: g.blockHash(l.c, h-1)}
		var ev chain.BridgeEvents
		var logs uint32
		for ; k < len(l.txs) && slot(l.txs[k].at) == s; k++ {
			p := &l.txs[k]
			tx := p.tx
			tx.Index = len(b.Txs)
			for j := range tx.Transfers {
				tr := &tx.Transfers[j]
				tr.Chain, tr.Tx, tr.Block, tr.Time = l.c, tx.Hash, h, b.Time
			}
			if p.dep != nil {
				lg := bridge.Log{Chain: l.c, Network: 1, Address: thorRouter, Topics: depositTopics(p.dep.vault), Data: depositData(p.dep.v, p.dep.memo),
					Tx: tx.Hash, Block: h, Index: logs, Time: b.Time}
				logs++
				if err := adapters.Read(lg, &ev); err != nil {
					return nil, fmt.Errorf("sim: router log of %s: %w", tx.Hash, err)
				}
			}
			if p.pays != nil {
				ev.Payouts = append(ev.Payouts, *p.pays)
			}
			b.Txs = append(b.Txs, tx)
		}
		if !ev.Empty() {
			b.Bridge = &ev
		}
		out = append(out, b)
	}
	return out, nil
}

func (g *crossGen) blockHash(c chain.Chain, h uint64) string {
	var tag uint64
	switch c {
	case chain.Bitcoin:
		tag = 1
	case chain.Tron:
		tag = 2
	}
	s := g.names.hash(hashBlock, h<<2|tag)
	if c == chain.Ethereum {
		return s
	}
	return s[2:]
}

// depositTopics are a router Deposit event's topics: the event, the
// vault and the asset (zero: the coin).
func depositTopics(vault string) []string {
	return []string{thorchain.DepositTopic, "0x000000000000000000000000" + strings.TrimPrefix(vault, "0x"), "0x" + strings.Repeat("0", 64)}
}

// depositData ABI-encodes the event's (uint256 amount, string memo).
func depositData(v chain.Amount, memo string) []byte {
	word := func(n uint64) []byte {
		var b [32]byte
		binary.BigEndian.PutUint64(b[24:], n)
		return b[:]
	}
	b := v.Bytes()
	out := make([]byte, 32-len(b), 32)
	out = append(out, b...)
	out = append(out, word(64)...)
	out = append(out, word(uint64(len(memo)))...)
	pad := make([]byte, (len(memo)+31)/32*32)
	copy(pad, memo)
	return append(out, pad...)
}
