// Package sim generates Ethereum laundering scenarios with their ground
// truth, for testing fund tracing.
//
// A scenario is a deterministic stream of chain.Block values: given the
// same Config (seed included) it yields the same blocks, byte for byte.
// A victim sends the theft to a thief, who splits it over many wallets, as
// in the Bybit theft of February 2025 (about 40 wallets of 10,000 ETH).
// Each wallet moves its funds on along five routes: a peel chain that
// drops small amounts at exchange deposit addresses, a mixer with fixed
// denominations, a bridge where the funds leave the chain, a swap into an
// ERC-20 token through a DEX pool, and direct deposits at exchanges, whose
// deposit addresses sweep what they receive to the exchange's hot wallet a
// few blocks later. Around it runs ordinary traffic among a pool of
// addresses with heavy-tailed degrees and log-normal amounts, including
// the exchanges' own customers, the mixer's, the bridge's and the pool's.
//
// The ground truth is exact because the laundering addresses never
// receive anything but stolen funds: no background transfer pays them,
// and the thief's exchange deposit addresses are the thief's own accounts,
// used by no one else. Every wei they receive is therefore stolen, and
// poison and haircut taint agree on it. The only places where stolen and
// clean funds meet are the services (exchange hot wallets, the mixer, the
// bridge, the pool); Truth.Tags attributes them, and the truth follows the
// thief's own withdrawals out of the mixer, which is what a perfect
// demixing would find.
//
// Background accounts and services start with balances from before the
// first block, which the stream does not show, so only the laundering
// addresses' balances can be checked from the stream alone. Fees are paid
// (Tx.Fee) but are not taken from the transferred values, so that value
// is conserved exactly at every laundering address.
package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tracehound/tracehound/chain"
)

// Routes weigh how each split wallet divides its funds among the routes.
// Each wallet draws its own shares around these weights (from half to one
// and a half of each), so no two wallets look alike. A zero weight turns
// a route off.
type Routes struct {
	Peel     int // peel chains dropping small amounts at exchanges
	Mixer    int // mixer deposits of fixed denominations
	Bridge   int // a bridge, where funds leave the chain
	Swap     int // a swap into the DEX pool's token
	Exchange int // deposits straight at exchanges
}

// Config describes a scenario.
type Config struct {
	// Seed makes the scenario: the same Config gives the same blocks.
	Seed uint64

	// StartHeight and StartTime are the first block's; blocks follow every
	// BlockTime, with an occasional missed slot of twice that.
	StartHeight uint64
	StartTime   time.Time
	BlockTime   time.Duration
	// TxsPerBlock is the most background transfers a block carries. The
	// background is spread evenly over the blocks, which are as many as it
	// needs at this rate or as the laundering needs, whichever is more.
	TxsPerBlock int

	// Background is the number of ordinary transfers, sweeps of the
	// customers' deposit addresses included.
	Background int
	// Addresses is the size of the background address pool.
	Addresses int
	// Zipf is the exponent (> 1) of the heavy-tailed distribution of how
	// often an address sends or receives.
	Zipf float64
	// Exchanges is the number of exchanges, each with a hot wallet and
	// DepositAddresses deposit addresses of its customers.
	Exchanges        int
	DepositAddresses int

	// Victim and Thief, if set, are the addresses the theft leaves and
	// first reaches ("0x" and 40 hex digits), so that a scenario can start
	// from a real incident's; generated ones otherwise.
	Victim, Thief string
	// Theft is the stolen amount, in wei.
	Theft chain.Amount
	// TheftBlock is the theft's block, counted from the first block.
	TheftBlock int
	// SplitWallets is how many wallets the thief splits the theft over.
	// Each receives the same round amount; the thief keeps the rest.
	SplitWallets int
	Routes       Routes
	// PeelHops is the length of each peel chain.
	PeelHops int
	// MixerDenominations are the mixer's fixed deposit sizes, in wei.
	MixerDenominations []chain.Amount
	// MixerKeep is the chance, from 0 to 1, that the thief never withdraws
	// a deposited note within the scenario.
	MixerKeep float64
	// ThiefDeposits is how many deposit addresses (accounts) the thief
	// holds at each exchange.
	ThiefDeposits int
	// TokenPerETH is the DEX pool's price: base units of its token for one
	// ETH, before a slippage of up to 1%.
	TokenPerETH chain.Amount

	// Delay is the most blocks a laundering address holds funds before
	// moving them on; MixDelay is the least the thief waits before
	// withdrawing from the mixer (at most twice that); SweepDelay is the
	// most blocks before a deposit address sweeps to its hot wallet.
	Delay      int
	MixDelay   int
	SweepDelay int
}

// DefaultConfig returns a Bybit-sized scenario: 401,346.7686 ETH stolen
// and split over 40 wallets of 10,000 ETH, among a million background
// transfers.
func DefaultConfig() Config {
	theft, _ := chain.ParseAmount("401346768600000000000000")
	return Config{
		Seed:        1,
		StartHeight: 21_895_000,
		StartTime:   time.Date(2025, 2, 21, 14, 0, 0, 0, time.UTC),
		BlockTime:   12 * time.Second,
		TxsPerBlock: 200,

		Background:       1_000_000,
		Addresses:        200_000,
		Zipf:             1.2,
		Exchanges:        8,
		DepositAddresses: 5_000,

		Theft:        theft,
		TheftBlock:   20,
		SplitWallets: 40,
		Routes:       Routes{Peel: 20, Mixer: 15, Bridge: 40, Swap: 10, Exchange: 15},
		PeelHops:     20,
		MixerDenominations: []chain.Amount{
			mulDiv(ether(1), 1, 10), ether(1), ether(10), ether(100),
		},
		MixerKeep:     0.1,
		ThiefDeposits: 10,
		TokenPerETH:   chain.NewAmount(2_700_000_000), // 2,700 of a 6-decimal stablecoin

		Delay:      10,
		MixDelay:   300,
		SweepDelay: 30,
	}
}

func (c *Config) validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(c.BlockTime > 0, "BlockTime %v must be positive", c.BlockTime)
	check(c.TxsPerBlock > 0, "TxsPerBlock %d must be positive", c.TxsPerBlock)
	check(c.Background >= 0, "Background %d is negative", c.Background)
	if c.Background > 0 {
		check(c.Addresses >= 2, "Addresses %d: the background needs at least 2", c.Addresses)
		check(c.DepositAddresses >= 1, "DepositAddresses %d: the background needs at least 1", c.DepositAddresses)
		check(c.Zipf > 1, "Zipf %v must exceed 1", c.Zipf)
	}
	check(c.Addresses >= 0 && c.Addresses < 1<<40, "Addresses %d out of range", c.Addresses)
	check(c.Exchanges >= 1 && c.Exchanges < 1<<20, "Exchanges %d must be in [1, 2^20)", c.Exchanges)
	check(c.DepositAddresses >= 0 && c.ThiefDeposits >= 1 && c.DepositAddresses+c.ThiefDeposits < 1<<31,
		"DepositAddresses %d and ThiefDeposits %d: need at least one of the thief's, under 2^31 in all", c.DepositAddresses, c.ThiefDeposits)
	check(c.SplitWallets >= 1, "SplitWallets %d must be positive", c.SplitWallets)
	check(c.Theft.Cmp(chain.NewAmount(uint64(max(c.SplitWallets, 1)))) >= 0,
		"Theft %s wei is too small to split over %d wallets", c.Theft, c.SplitWallets)
	for _, a := range []struct{ name, addr string }{{"Victim", c.Victim}, {"Thief", c.Thief}} {
		check(a.addr == "" || isHexAddress(a.addr), "%s %q is not an Ethereum address (0x and 40 hex digits)", a.name, a.addr)
	}
	check(c.Victim == "" || !strings.EqualFold(c.Victim, c.Thief), "Victim and Thief are the same address %s", c.Victim)
	check(c.TheftBlock >= 0, "TheftBlock %d is negative", c.TheftBlock)
	check(c.PeelHops >= 0, "PeelHops %d is negative", c.PeelHops)
	r := c.Routes
	for _, w := range []int{r.Peel, r.Mixer, r.Bridge, r.Swap, r.Exchange} {
		check(w >= 0 && w <= 1_000_000, "route weight %d out of [0, 1000000]", w)
	}
	check(r.Peel+r.Mixer+r.Bridge+r.Swap+r.Exchange > 0, "every route weight is zero")
	if r.Mixer > 0 {
		check(len(c.MixerDenominations) > 0, "the mixer route needs MixerDenominations")
	}
	for _, d := range c.MixerDenominations {
		check(!d.IsZero(), "a mixer denomination is zero")
	}
	check(c.MixerKeep >= 0 && c.MixerKeep <= 1, "MixerKeep %v out of [0, 1]", c.MixerKeep)
	if r.Swap > 0 {
		check(!c.TokenPerETH.IsZero(), "the swap route needs TokenPerETH")
	}
	check(c.Delay >= 1, "Delay %d must be positive", c.Delay)
	check(c.MixDelay >= 1, "MixDelay %d must be positive", c.MixDelay)
	check(c.SweepDelay >= 1, "SweepDelay %d must be positive", c.SweepDelay)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sim: invalid config: %w", err)
	}
	return nil
}

// isHexAddress tells whether s is "0x" and 40 hex digits, of either case.
func isHexAddress(s string) bool {
	if len(s) != 42 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') {
		return false
	}
	for _, c := range s[2:] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// Scenario is a generated scenario: its ground truth, known in full before
// the first block, and its blocks, read one at a time with Next so that
// millions of transfers need not be held in memory. A Scenario is not
// safe for concurrent use.
type Scenario struct {
	Truth Truth
	s     *stream
}

// Generate plans a scenario. The laundering is planned here, in full; the
// background is generated as Next reads the blocks.
func Generate(cfg Config) (*Scenario, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.MixerDenominations = slices.Clone(cfg.MixerDenominations)
	// The chain's addresses are lower case, as the generated ones are.
	cfg.Victim, cfg.Thief = strings.ToLower(cfg.Victim), strings.ToLower(cfg.Thief)
	w := newWorld(&cfg)
	truth, plan, err := newPlanner(&cfg, w).run()
	if err != nil {
		return nil, err
	}
	return &Scenario{Truth: truth, s: newStream(&cfg, w, plan)}, nil
}

// Next returns the next block, or io.EOF after the last.
func (sc *Scenario) Next() (*chain.Block, error) {
	if sc.s.k >= sc.s.n {
		return nil, io.EOF
	}
	return sc.s.block(), nil
}

// Len returns the number of blocks in the scenario.
func (sc *Scenario) Len() int { return int(sc.s.n) }

// Source returns the scenario's blocks as a stream that ingest.RunStream
// reads like block files (ingest.StreamSource). It shares the Scenario's
// position.
func (sc *Scenario) Source() *Source { return &Source{sc: sc} }

// Source is a Scenario seen as an ingest stream source.
type Source struct{ sc *Scenario }

// Chain is always Ethereum.
func (*Source) Chain() chain.Chain { return chain.Ethereum }

// ID names the source by its seed.
func (s *Source) ID() string { return "sim:" + strconv.FormatUint(s.sc.s.cfg.Seed, 10) }

// Next returns the next block, or io.EOF after the last.
func (s *Source) Next(ctx context.Context) (*chain.Block, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.sc.Next()
}

// Progress reports the blocks read and the blocks in all.
func (s *Source) Progress() (done, total int64) { return int64(s.sc.s.k), int64(s.sc.s.n) }
