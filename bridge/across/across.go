// Package across links deposits into Across SpokePools to the chain and
// recipient of their fill: the V3FundsDeposited event (SpokePool V3,
// addresses as address) and its successor FundsDeposited (addresses as
// bytes32, so that non-EVM chains can be named).
package across

import (
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"

	"github.com/tracehound/tracehound/bridge"
	"github.com/tracehound/tracehound/chain"
)

const spokeABI = `[
{"anonymous":false,"name":"V3FundsDeposited","type":"event","inputs":[
 {"indexed":false,"name":"inputToken","type":"address"},{"indexed":false,"name":"outputToken","type":"address"},
 {"indexed":false,"name":"inputAmount","type":"uint256"},{"indexed":false,"name":"outputAmount","type":"uint256"},
 {"indexed":true,"name":"destinationChainId","type":"uint256"},{"indexed":true,"name":"depositId","type":"uint32"},
 {"indexed":false,"name":"quoteTimestamp","type":"uint32"},{"indexed":false,"name":"fillDeadline","type":"uint32"},
 {"indexed":false,"name":"exclusivityDeadline","type":"uint32"},{"indexed":true,"name":"depositor","type":"address"},
 {"indexed":false,"name":"recipient","type":"address"},{"indexed":false,"name":"exclusiveRelayer","type":"address"},
 {"indexed":false,"name":"message","type":"bytes"}]},
{"anonymous":false,"name":"FundsDeposited","type":"event","inputs":[
 {"indexed":false,"name":"inputToken","type":"bytes32"},{"indexed":false,"name":"outputToken","type":"bytes32"},
 {"indexed":false,"name":"inputAmount","type":"uint256"},{"indexed":false,"name":"outputAmount","type":"uint256"},
 {"indexed":true,"name":"destinationChainId","type":"uint256"},{"indexed":true,"name":"depositId","type":"uint256"},
 {"indexed":false,"name":"quoteTimestamp","type":"uint32"},{"indexed":false,"name":"fillDeadline","type":"uint32"},
 {"indexed":false,"name":"exclusivityDeadline","type":"uint32"},{"indexed":true,"name":"depositor","type":"bytes32"},
 {"indexed":false,"name":"recipient","type":"bytes32"},{"indexed":false,"name":"exclusiveRelayer","type":"bytes32"},
 {"indexed":false,"name":"message","type":"bytes"}]}]`

var spoke = func() abi.ABI {
	a, err := abi.JSON(strings.NewReader(spokeABI))
	if err != nil {
		panic(err)
	}
	return a
}()

// Topics of the two deposit events.
var (
	V3FundsDepositedTopic = spoke.Events["V3FundsDeposited"].ID.Hex()
	FundsDepositedTopic   = spoke.Events["FundsDeposited"].ID.Hex()
)

// SpokePool links deposits of the SpokePools it trusts (lower-case
// addresses; the Ethereum one is 0x5c7bcd6e7de5423a257d81b442095a1a6ced35c5).
type SpokePool struct {
	Pools map[string]bool
}

var _ bridge.Adapter = SpokePool{}

// Link reads a deposit. The fill on the destination chain names the
// same origin chain and deposit id, which Key carries.
func (p SpokePool) Link(l bridge.Log) (bridge.Continuation, bool, error) {
	if len(l.Topics) == 0 || !p.Pools[strings.ToLower(l.Address)] {
		return bridge.Continuation{}, false, nil
	}
	var ev abi.Event
	switch strings.ToLower(l.Topics[0]) {
	case V3FundsDepositedTopic:
		ev = spoke.Events["V3FundsDeposited"]
	case FundsDepositedTopic:
		ev = spoke.Events["FundsDeposited"]
	default:
		return bridge.Continuation{}, false, nil
	}
	fail := func(err error) (bridge.Continuation, bool, error) {
		return bridge.Continuation{}, true, fmt.Errorf("across: deposit %s log %d: %w", l.Tx, l.Index, err)
	}
	if len(l.Topics) != 4 {
		return fail(fmt.Errorf("%d topics, want 4", len(l.Topics)))
	}
	vals := map[string]any{}
	if err := ev.Inputs.NonIndexed().UnpackIntoMap(vals, l.Data); err != nil {
		return fail(err)
	}
	dest := new(big.Int).SetBytes(common.FromHex(l.Topics[1]))
	id := new(big.Int).SetBytes(common.FromHex(l.Topics[2]))
	in, err := chain.AmountFromBig(vals["inputAmount"].(*big.Int))
	if err != nil {
		return fail(err)
	}
	out, err := chain.AmountFromBig(vals["outputAmount"].(*big.Int))
	if err != nil {
		return fail(err)
	}
	c := bridge.Continuation{
		Bridge: "across", SourceChain: l.Chain, SourceTx: l.Tx, SourceLog: l.Index,
		Amount: in, MinOut: out, DestChain: "eip155:" + dest.String(),
		Key: fmt.Sprintf("eip155:%d/%s", l.Network, id),
	}
	word := func(v any) string {
		switch a := v.(type) {
		case common.Address:
			return strings.ToLower(a.Hex())
		case [32]byte:
			// An EVM address is the low 20 bytes; other chains' keys
			// fill the word, kept as hex.
			if allZero(a[:12]) {
				return strings.ToLower(common.BytesToAddress(a[12:]).Hex())
			}
			return "0x" + common.Bytes2Hex(a[:])
		}
		return ""
	}
	c.Asset = chain.Asset(word(vals["inputToken"]))
	c.DestAsset = word(vals["outputToken"])
	c.Recipient, c.Resolved = word(vals["recipient"]), true
	if t := common.FromHex(l.Topics[3]); len(t) == 32 && allZero(t[:12]) {
		c.Depositor = strings.ToLower(common.BytesToAddress(t[12:]).Hex())
	}
	return c, true, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
