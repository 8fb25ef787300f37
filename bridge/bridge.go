// Package bridge finds where funds that leave a chain through a bridge or
// a cross-chain swap continue: the destination chain, the recipient and
// the amount, read from the deposit event the bridge emits on the source
// chain, and the payout on the destination chain that names the deposit.
// Each bridge is one Adapter in a package of its own (thorchain, across,
// cbridge); package bridges lists them, so that adding a bridge is adding
// a package and a line.
//
// Links found here are exact: they come from the bridge's own events. The
// instant-exchange matcher (package exchange), which has no on-chain link
// to read, returns candidates of a type of its own.
package bridge

import (
	"errors"
	"strings"
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
	Bridge string // "thorchain", "across", "cbridge" ...
	// Source is the deposit: its transaction and log.
	SourceChain chain.Chain
	SourceTx    string
	SourceLog   uint32
	// Contract is the address that took the deposit: the router or pool
	// that emitted the event.
	Contract  string
	Depositor string // if the event names it
	// Asset and Amount are what was deposited, in the source chain's
	// base units ("" for the native coin, else the token contract).
	Asset  chain.Asset
	Amount chain.Amount
	// Memo is the deposit's memo as written, where the bridge takes one.
	Memo string
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
	// Key finds the payout on the destination chain: each bridge's
	// payouts name the deposit (THORChain's "OUT:<hash of the deposit>",
	// an Across fill the origin chain and deposit id), and Payout reads
	// that name into the same Key.
	Key string
}

// Deposit is c as the graph keeps it; errMsg, if not empty, says why it
// cannot be followed.
func (c Continuation) Deposit(errMsg string) chain.BridgeDeposit {
	return chain.BridgeDeposit{
		Bridge: c.Bridge, Tx: c.SourceTx, Log: c.SourceLog, Contract: c.Contract, Depositor: c.Depositor,
		Asset: c.Asset, Amount: c.Amount, Memo: c.Memo, DestChain: c.DestChain, DestAsset: c.DestAsset,
		Recipient: c.Recipient, MinOut: c.MinOut, Key: c.Key, Err: errMsg,
	}
}

// Payout is a bridge paying out on the destination chain, naming the
// deposit it completes by Key.
type Payout struct {
	Bridge string
	Key    string
	Tx     string
	Log    uint32
	// To, Asset and Amount are the payment the event announces.
	To     string
	Asset  chain.Asset
	Amount chain.Amount
	// Refund is a deposit given back rather than paid out.
	Refund bool
	Memo   string
}

// Record is p as the graph keeps it.
func (p Payout) Record() chain.BridgePayout {
	return chain.BridgePayout{Bridge: p.Bridge, Key: p.Key, Tx: p.Tx, Log: p.Log, To: p.To, Asset: p.Asset, Amount: p.Amount, Refund: p.Refund, Memo: p.Memo}
}

// Adapter reads one bridge's events.
type Adapter interface {
	// Link reads a deposit. ok is false for a log that is not one of its
	// deposits; err is a log that is one but cannot be followed (a memo
	// that does not parse), and c then holds what could be read of it.
	Link(l Log) (c Continuation, ok bool, err error)
	// Payout reads a payout event. ok is false for a log that is not one
	// of its payouts; err is one that is but does not decode.
	Payout(l Log) (p Payout, ok bool, err error)
}

// Set is the adapters a source reads every log with.
type Set []Adapter

// Read runs a log through the adapters and adds what the first that
// knows it reads to ev. A deposit that cannot be followed is kept with
// its error; a payout event that does not decode is an error, as it comes
// from a contract the adapter trusts.
func (s Set) Read(l Log, ev *chain.BridgeEvents) error {
	for _, a := range s {
		c, ok, err := a.Link(l)
		if ok {
			msg := ""
			if err != nil {
				msg = err.Error()
				if c.SourceTx == "" {
					// Nothing of it could be read: keep where it is.
					c.SourceChain, c.SourceTx, c.SourceLog, c.Contract = l.Chain, l.Tx, l.Index, strings.ToLower(l.Address)
				}
			}
			ev.Deposits = append(ev.Deposits, c.Deposit(msg))
			return nil
		}
		p, ok, err := a.Payout(l)
		if err != nil {
			return err
		}
		if ok {
			ev.Payouts = append(ev.Payouts, p.Record())
			return nil
		}
	}
	return nil
}

// ErrNotHeld is a destination the graph does not keep as a chain.
var ErrNotHeld = errors.New("destination chain not in the graph")

// GraphChain maps a bridge's name for a destination chain to the chain
// the graph keeps it under. THORChain names chains by their ticker
// ("BTC", "ETH", "TRON"), EVM bridges by chain id ("eip155:1"). The
// graph keeps one EVM network, Ethereum mainnet, under chain.Ethereum:
// other EVM networks (BSC, Base, Arbitrum ...) share its address family
// but not its transactions, and are not held.
func GraphChain(dest string) (chain.Chain, bool) {
	switch strings.ToUpper(dest) {
	case "BTC":
		return chain.Bitcoin, true
	case "ETH", "EIP155:1":
		return chain.Ethereum, true
	case "TRON":
		return chain.Tron, true
	case "LTC":
		return chain.Litecoin, true
	case "BCH":
		return chain.BitcoinCash, true
	case "DOGE":
		return chain.Dogecoin, true
	}
	return "", false
}
