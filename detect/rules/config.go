package rules

import (
	"fmt"
	"time"

	"github.com/tracehound/tracehound/chain"
)

// AssetKey names an asset on a chain.
type AssetKey struct {
	Chain chain.Chain
	Asset chain.Asset
}

// Amounts maps assets to an amount in their base units.
type Amounts map[AssetKey]chain.Amount

func (a Amounts) get(c chain.Chain, asset chain.Asset) (chain.Amount, bool) {
	v, ok := a[AssetKey{c, asset}]
	return v, ok
}

// Well-known token contracts for the default thresholds.
const (
	USDT chain.Asset = "0xdac17f958d2ee523a2206206994597c13d831ec7"
	USDC chain.Asset = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"
)

func pow10(n int) chain.Amount {
	a := chain.NewAmount(1)
	for range n {
		a = a.MulDiv(chain.NewAmount(10), chain.NewAmount(1))
	}
	return a
}

func units(n uint64, decimals int) chain.Amount {
	return chain.NewAmount(n).MulDiv(pow10(decimals), chain.NewAmount(1))
}

// DefaultHighValue is what counts as a large transfer: 1 BTC, 10 ETH,
// 10,000 USDT or USDC (6 decimals). Without a price feed the rules judge
// value per asset; an asset absent here is never "high value".
func DefaultHighValue() Amounts {
	return Amounts{
		{chain.Bitcoin, chain.Native}:  units(1, 8),
		{chain.Ethereum, chain.Native}: units(10, 18),
		{chain.Ethereum, USDT}:         units(10_000, 6),
		{chain.Ethereum, USDC}:         units(10_000, 6),
	}
}

// DefaultReportingThresholds are the amounts just under which structuring
// is looked for: the 10,000 USD currency-transaction level in the
// stablecoins; for BTC and ETH the thresholds follow DefaultHighValue.
func DefaultReportingThresholds() Amounts { return DefaultHighValue() }

// FanParams configure fan-out and fan-in.
type FanParams struct {
	// Window is how far back transfers count (default 24h).
	Window time.Duration
	// MinCounterparties is the number of distinct recipients (fan-out) or
	// senders (fan-in) that makes a fan (default 10).
	MinCounterparties int
	// Similar, when > 0, counts only counterparties whose transfers' amounts
	// lie within one band whose top is at most (1+Similar) times its bottom:
	// funds split (or pooled) in like amounts, as smurfing does, rather than
	// a busy address's unrelated payments (default 0.5; 0 counts every
	// counterparty).
	Similar float64
	// MinTransfers is the least number of transfers (in the band, where
	// Similar > 0) each counted counterparty made: above 1, each sender of
	// a fan-in (recipient of a fan-out) paid in several like pieces, as
	// smurfs feeding one collection account do (default 1).
	MinTransfers int
}

// FlowParams configure scatter-gather, gather-scatter and stack.
type FlowParams struct {
	// Window bounds the whole pattern in time (default 72h).
	Window time.Duration
	// MinWidth is the least number of distinct intermediaries (scatter-
	// gather, default 3), of sources and of destinations (gather-scatter,
	// default 5), or of addresses in each layer (stack, default 3).
	MinWidth int
	// MinLayers is the least number of layers after the origin for a stack
	// (default 2).
	MinLayers int
	// Tolerance: a scatter-gather's intermediaries, a gather-scatter hub
	// and a stack's inner layers must each send on what they received
	// within this fraction (default 0.1).
	Tolerance float64
}

// CycleParams configure the cycle rule.
type CycleParams struct {
	// Window bounds the cycle's transfers in time (default 7 days).
	Window time.Duration
	// MinLength and MaxLength bound the number of transfers in the cycle
	// (defaults 3 and 6; a two-transfer round trip is usually a refund).
	MinLength, MaxLength int
	// Tolerance is how far each hop's amount may differ from the next,
	// as a fraction of the larger (default 0.1: fees and skims).
	Tolerance float64
	// Ordered requires the hops to follow each other in time, as funds
	// moving round the cycle do (default true). Off, a cycle of like
	// amounts within the window counts whatever its order: funds
	// pre-positioned so that every hop can be sent at once.
	Ordered bool
}

// PeelParams configure the peel-chain rule.
type PeelParams struct {
	// MinHops is the least number of peels in a chain (default 3).
	MinHops int
	// MaxPeel is the largest share of what a hop received that it may peel
	// off; the rest must go on to one next address (default 0.5).
	MaxPeel float64
	// HopWindow bounds the time between receiving and forwarding at each
	// hop (default 7 days).
	HopWindow time.Duration
	// FreshHops requires each remainder to go to an address first seen in
	// that transfer, as a wallet's change output does (default true).
	FreshHops bool
}

// PassThroughParams configure rapid pass-through.
type PassThroughParams struct {
	// MaxDelay is the longest stay of the funds (default 30 minutes).
	MaxDelay time.Duration
	// MinShare is the least share of the received amount sent on within
	// MaxDelay (default 0.9).
	MinShare float64
	// MinAmount per asset: smaller flows are ignored (default: half of
	// DefaultHighValue; an asset absent from the map is not checked).
	MinAmount Amounts
}

// StructuringParams configure structuring.
type StructuringParams struct {
	// Window is how far back transfers count (default 24h).
	Window time.Duration
	// Thresholds per asset; a transfer in [T·(1-Margin), T) is "just under"
	// (default DefaultReportingThresholds).
	Thresholds Amounts
	// Margin (default 0.1) and MinCount, the number of just-under
	// transfers from or to one address that makes structuring (default 3).
	Margin   float64
	MinCount int
	// MinSplits is the number of transfers between the same two addresses
	// in the same asset within SplitWindow that make a payment split into
	// pieces (default 3; 0 turns the split check off).
	MinSplits   int
	SplitWindow time.Duration // default 10 minutes
}

// SmurfParams configure smurfing: addresses that move amounts like the
// pieces of a split payment (Structuring's split check, so MinSplits and
// SplitWindow) with either party to it.
type SmurfParams struct {
	// Window is how long before or after the split such a transfer counts.
	// 0, the default, turns the rule off: on a public chain payments split
	// into pieces are everyday wallet behaviour (the simulated chain's
	// ordinary traffic makes thousands of findings and no true one), so
	// the rule is for data where a split is itself rare, as in AMLSim.
	Window time.Duration
	// Similar: an amount is like the pieces when it lies within a factor
	// 1+Similar of the median piece (default 0.5).
	Similar float64
}

// HopParams configure mixer and bridge hopping.
type HopParams struct {
	// Window between receiving from a service and sending to the next
	// (default 72h).
	Window time.Duration
}

// FreshParams configure high-value transfers from fresh addresses.
type FreshParams struct {
	// MaxAge is how young a "fresh" address is: its first activity at most
	// this long before the transfer (default 72h).
	MaxAge time.Duration
	// Lookback is how long before its first activity an address must have
	// been idle for the engine's own memory to call it new, where no
	// History says so (default 30 days).
	Lookback time.Duration
	// HighValue per asset (default DefaultHighValue).
	HighValue Amounts
}

// DormantParams configure dormant-address reactivation.
type DormantParams struct {
	// MinIdle is the least idle time before the transfer (default 365 days).
	MinIdle time.Duration
	// MinAmount per asset that the woken address must send (default
	// DefaultHighValue divided by 10; absent assets: any amount).
	MinAmount Amounts
}

// Config holds every rule's parameters and the engine's bounds.
type Config struct {
	// Enabled selects the typologies to run; nil runs all.
	Enabled map[Typology]bool

	FanOut, FanIn FanParams
	ScatterGather FlowParams
	GatherScatter FlowParams
	Stack         FlowParams
	Cycle         CycleParams
	Peel          PeelParams
	PassThrough   PassThroughParams
	Structuring   StructuringParams
	Smurfing      SmurfParams
	Hop           HopParams
	Fresh         FreshParams
	Dormant       DormantParams

	// Services are the categories of addresses that run a service for many
	// customers (exchanges, DeFi, bridges, mixers): busy by nature, they are
	// never the subject of a finding and cycles are not followed through
	// them. Needs a Labeler (default: exchange, defi, bridge, mixer,
	// service, miner).
	Services map[string]bool

	// MaxEdges caps the recent transfers kept per address and direction
	// (default 64): a busy address keeps its newest, between three
	// quarters of MaxEdges and MaxEdges of them.
	MaxEdges int
	// MaxAddresses caps the addresses remembered (default 500,000); the
	// least recently active are forgotten first.
	MaxAddresses int
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	hv := DefaultHighValue()
	half, tenth := Amounts{}, Amounts{}
	for k, v := range hv {
		half[k] = v.MulDiv(chain.NewAmount(1), chain.NewAmount(2))
		tenth[k] = v.MulDiv(chain.NewAmount(1), chain.NewAmount(10))
	}
	return Config{
		FanOut:        FanParams{Window: 24 * time.Hour, MinCounterparties: 10, Similar: 0.5, MinTransfers: 1},
		FanIn:         FanParams{Window: 24 * time.Hour, MinCounterparties: 10, Similar: 0.5, MinTransfers: 1},
		ScatterGather: FlowParams{Window: 72 * time.Hour, MinWidth: 3, Tolerance: 0.1},
		GatherScatter: FlowParams{Window: 72 * time.Hour, MinWidth: 5, Tolerance: 0.1},
		Stack:         FlowParams{Window: 72 * time.Hour, MinWidth: 3, MinLayers: 2, Tolerance: 0.1},
		Cycle:         CycleParams{Window: 7 * 24 * time.Hour, MinLength: 3, MaxLength: 6, Tolerance: 0.1, Ordered: true},
		Peel:          PeelParams{MinHops: 3, MaxPeel: 0.5, HopWindow: 7 * 24 * time.Hour, FreshHops: true},
		PassThrough:   PassThroughParams{MaxDelay: 30 * time.Minute, MinShare: 0.9, MinAmount: half},
		Structuring: StructuringParams{Window: 24 * time.Hour, Thresholds: DefaultReportingThresholds(),
			Margin: 0.1, MinCount: 3, MinSplits: 3, SplitWindow: 10 * time.Minute},
		Smurfing: SmurfParams{Similar: 0.5},
		Hop:      HopParams{Window: 72 * time.Hour},
		Fresh:    FreshParams{MaxAge: 72 * time.Hour, Lookback: 30 * 24 * time.Hour, HighValue: hv},
		Dormant:  DormantParams{MinIdle: 365 * 24 * time.Hour, MinAmount: tenth},
		Services: map[string]bool{"exchange": true, "defi": true, CategoryBridge: true, CategoryMixer: true,
			"service": true, "miner": true},
		MaxEdges:     64,
		MaxAddresses: 500_000,
	}
}

func (c *Config) enabled(t Typology) bool { return c.Enabled == nil || c.Enabled[t] }

// Check reports a parameter out of range.
func (c *Config) Check() error {
	switch {
	case c.MaxEdges < 4:
		return fmt.Errorf("MaxEdges %d: want at least 4", c.MaxEdges)
	case c.MaxAddresses < 1:
		return fmt.Errorf("MaxAddresses %d: want at least 1", c.MaxAddresses)
	case c.Cycle.MinLength < 2 || c.Cycle.MaxLength < c.Cycle.MinLength || c.Cycle.MaxLength > 10:
		return fmt.Errorf("cycle length %d..%d: want 2 <= min <= max <= 10", c.Cycle.MinLength, c.Cycle.MaxLength)
	case c.FanIn.MinCounterparties < 2 || c.FanOut.MinCounterparties < 2:
		return fmt.Errorf("fan MinCounterparties must be at least 2")
	case c.FanIn.MinTransfers < 0 || c.FanOut.MinTransfers < 0:
		return fmt.Errorf("fan MinTransfers must not be negative")
	case c.ScatterGather.MinWidth < 2 || c.GatherScatter.MinWidth < 2 || c.Stack.MinWidth < 1 || c.Stack.MinLayers < 2:
		return fmt.Errorf("flow widths must be at least 2 (stack: width 1, layers 2)")
	case c.Peel.MinHops < 2 || c.Peel.MaxPeel <= 0 || c.Peel.MaxPeel >= 1:
		return fmt.Errorf("peel: MinHops >= 2 and MaxPeel in (0, 1)")
	case c.Structuring.MinCount < 2 || c.Structuring.MinSplits == 1 || c.Structuring.Margin <= 0 || c.Structuring.Margin >= 1:
		return fmt.Errorf("structuring: MinCount >= 2, MinSplits 0 or >= 2, Margin in (0, 1)")
	case c.Cycle.Tolerance < 0 || c.Cycle.Tolerance >= 1 || c.FanIn.Similar < 0 || c.FanOut.Similar < 0 || c.Smurfing.Similar < 0:
		return fmt.Errorf("tolerances must be in [0, 1)")
	case c.PassThrough.MinShare <= 0 || c.PassThrough.MinShare > 1:
		return fmt.Errorf("pass-through MinShare must be in (0, 1]")
	}
	return nil
}
