// Package cbridge links deposits into Celer's cBridge (the liquidity
// bridge, "cBridge V2") to their payouts: a Send event names the receiver,
// the token, the amount and the destination chain id, under a transfer
// id; the Relay that pays the receiver on the destination names that id
// as its srcTransferId.
package cbridge

import (
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"

	"github.com/tracehound/tracehound/bridge"
	"github.com/tracehound/tracehound/chain"
)

const bridgeABI = `[
{"anonymous":false,"name":"Send","type":"event","inputs":[
 {"indexed":false,"name":"transferId","type":"bytes32"},{"indexed":false,"name":"sender","type":"address"},
 {"indexed":false,"name":"receiver","type":"address"},{"indexed":false,"name":"token","type":"address"},
 {"indexed":false,"name":"amount","type":"uint256"},{"indexed":false,"name":"dstChainId","type":"uint64"},
 {"indexed":false,"name":"nonce","type":"uint64"},{"indexed":false,"name":"maxSlippage","type":"uint32"}]},
{"anonymous":false,"name":"Relay","type":"event","inputs":[
 {"indexed":false,"name":"transferId","type":"bytes32"},{"indexed":false,"name":"sender","type":"address"},
 {"indexed":false,"name":"receiver","type":"address"},{"indexed":false,"name":"token","type":"address"},
 {"indexed":false,"name":"amount","type":"uint256"},{"indexed":false,"name":"srcChainId","type":"uint64"},
 {"indexed":false,"name":"srcTransferId","type":"bytes32"}]}]`

var contract = func() abi.ABI {
	a, err := abi.JSON(strings.NewReader(bridgeABI))
	if err != nil {
		panic(err)
	}
	return a
}()

// Topics of the Send and Relay events.
var (
	SendTopic  = contract.Events["Send"].ID.Hex()
	RelayTopic = contract.Events["Relay"].ID.Hex()
)

// BridgeName is cBridge's name in links.
const BridgeName = "cbridge"

// EthereumBridge is the liquidity bridge on Ethereum mainnet.
const EthereumBridge = "0x5427fefa711eff984124bfbb1ab6fbf5e3da1820"

// Bridge links the events of the bridge contracts it trusts
// (lower-case addresses).
type Bridge struct {
	Contracts map[string]bool
}

var _ bridge.Adapter = Bridge{}

// Key names a transfer by its id, as both events write it.
func Key(id [32]byte) string { return BridgeName + "/" + common.Bytes2Hex(id[:]) }

// Link reads a Send. The amount is what the contract took; a native send
// (sendNative) names the chain's wrapped coin as its token.
func (b Bridge) Link(l bridge.Log) (bridge.Continuation, bool, error) {
	if len(l.Topics) != 1 || !strings.EqualFold(l.Topics[0], SendTopic) || !b.Contracts[strings.ToLower(l.Address)] {
		return bridge.Continuation{}, false, nil
	}
	vals := map[string]any{}
	if err := contract.Events["Send"].Inputs.UnpackIntoMap(vals, l.Data); err != nil {
		return bridge.Continuation{}, true, fmt.Errorf("cbridge: send %s log %d: %w", l.Tx, l.Index, err)
	}
	id, _ := vals["transferId"].([32]byte)
	amount, err := chain.AmountFromBig(vals["amount"].(*big.Int))
	if err != nil {
		return bridge.Continuation{}, true, fmt.Errorf("cbridge: send %s log %d: %w", l.Tx, l.Index, err)
	}
	c := bridge.Continuation{
		Bridge: BridgeName, SourceChain: l.Chain, SourceTx: l.Tx, SourceLog: l.Index, Contract: strings.ToLower(l.Address),
		Depositor: addr(vals["sender"]), Asset: chain.Asset(addr(vals["token"])), Amount: amount,
		DestChain: fmt.Sprintf("eip155:%d", vals["dstChainId"].(uint64)), Recipient: addr(vals["receiver"]), Resolved: true,
		Key: Key(id),
	}
	// The receiver gets at least the amount less the slippage the sender
	// accepted (in millionths), in the token's units on the destination.
	slip := uint64(vals["maxSlippage"].(uint32))
	if slip <= 1_000_000 {
		c.MinOut = amount.MulDiv(chain.NewAmount(1_000_000-slip), chain.NewAmount(1_000_000))
	}
	return c, true, nil
}

// Payout reads a Relay: the bridge paid the receiver.
func (b Bridge) Payout(l bridge.Log) (bridge.Payout, bool, error) {
	if len(l.Topics) != 1 || !strings.EqualFold(l.Topics[0], RelayTopic) || !b.Contracts[strings.ToLower(l.Address)] {
		return bridge.Payout{}, false, nil
	}
	vals := map[string]any{}
	if err := contract.Events["Relay"].Inputs.UnpackIntoMap(vals, l.Data); err != nil {
		return bridge.Payout{}, true, fmt.Errorf("cbridge: relay %s log %d: %w", l.Tx, l.Index, err)
	}
	src, _ := vals["srcTransferId"].([32]byte)
	amount, err := chain.AmountFromBig(vals["amount"].(*big.Int))
	if err != nil {
		return bridge.Payout{}, true, fmt.Errorf("cbridge: relay %s log %d: %w", l.Tx, l.Index, err)
	}
	return bridge.Payout{Bridge: BridgeName, Key: Key(src), Tx: l.Tx, Log: l.Index,
		To: addr(vals["receiver"]), Asset: chain.Asset(addr(vals["token"])), Amount: amount}, true, nil
}

func addr(v any) string {
	a, _ := v.(common.Address)
	return strings.ToLower(a.Hex())
}
