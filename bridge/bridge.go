// Package bridge finds where funds that leave a chain through a bridge or
// a cross-chain swap continue: the destination chain, the recipient and
// the amount, read from the deposit event the bridge emits on the source
// chain. Each bridge is one Adapter in a package of its own (thorchain,
// across); adding a bridge is adding one.
//
// Links found here are exact: they come from the bridge's own event. The
// instant-exchange matcher (package exchange), which has no on-chain link
// to read, returns candidates of a type of its own.
package bridge

import (
	"time"

	"github.com/tracehound/tracehound/chain"
)

// Log is an EVM event log as a node's receipt gives it.
type Log struct {
	Chain   chain.Chain
	Network uint64 // EVM chain id (1 Ethereum, 56 BSC, 8453 Base ...)
	Address string // the emitting contract, lower-case hex
	Topics  []string
	Data    []byte
	Tx      string
	Block   uint64
	Index   uint32 // log index in the block
	Time    time.Time
}

// Continuation is where a deposit into a bridge goes on.
type Continuation struct {
	Bridge string // "thorchain", "across" ...
	// Source is the deposit: its transaction and log.
	SourceChain chain.Chain
	SourceTx    string
	SourceLog   uint32
	Depositor   string // if the event names it
	// Asset and Amount are what was deposited, in the source chain's
	// base units ("" for the native coin, else the token contract).
	Asset  chain.Asset
	Amount chain.Amount
	// DestChain names the destination as the bridge does: a THORChain
	// chain ("BTC", "ETH", "TRON" ...) or an EVM chain id ("eip155:8453").
	DestChain string
	// DestAsset is the asset paid out, as the bridge names it.
	DestAsset string
	// Recipient is the destination address as the event gives it; a
	// THORName when the memo names one (Resolved false).
	Recipient string
	Resolved  bool
	// MinOut is the least the bridge may pay out, in the destination
	// asset's units as the bridge counts them (THORChain: 1e8).
	MinOut chain.Amount
	// Key finds the payout on the destination chain: THORChain's payouts
	// carry "OUT:<hash of the deposit>", Across fills the deposit id.
	Key string
}

// Adapter reads one bridge's deposit events. ok is false for a log that
// is not one of its deposits; err is a log that is, but is malformed.
type Adapter interface {
	Link(l Log) (c Continuation, ok bool, err error)
}
