// Package across links deposits into Across SpokePools to the chain and
// recipient of their fill: the V3FundsDeposited event (SpokePool V3,
// addresses as address) and its successor FundsDeposited (addresses as
// bytes32, so that non-EVM chains can be named); and reads the fills on
// the destination (FilledV3Relay, FilledRelay), which name the origin
// chain and the deposit id.
package across

import (
	"fmt"
	"math/big"
	"reflect"
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
 {"indexed":false,"name":"message","type":"bytes"}]},
{"anonymous":false,"name":"FilledV3Relay","type":"event","inputs":[
 {"indexed":false,"name":"inputToken","type":"address"},{"indexed":false,"name":"outputToken","type":"address"},
 {"indexed":false,"name":"inputAmount","type":"uint256"},{"indexed":false,"name":"outputAmount","type":"uint256"},
 {"indexed":false,"name":"repaymentChainId","type":"uint256"},{"indexed":true,"name":"originChainId","type":"uint256"},
 {"indexed":true,"name":"depositId","type":"uint32"},{"indexed":false,"name":"fillDeadline","type":"uint32"},
 {"indexed":false,"name":"exclusivityDeadline","type":"uint32"},{"indexed":false,"name":"exclusiveRelayer","type":"address"},
 {"indexed":true,"name":"relayer","type":"address"},{"indexed":false,"name":"depositor","type":"address"},
 {"indexed":false,"name":"recipient","type":"address"},{"indexed":false,"name":"message","type":"bytes"},
 {"indexed":false,"name":"relayExecutionInfo","type":"tuple","components":[
  {"name":"updatedRecipient","type":"address"},{"name":"updatedMessage","type":"bytes"},
  {"name":"updatedOutputAmount","type":"uint256"},{"name":"fillType","type":"uint8"}]}]},
{"anonymous":false,"name":"FilledRelay","type":"event","inputs":[
 {"indexed":false,"name":"inputToken","type":"bytes32"},{"indexed":false,"name":"outputToken","type":"bytes32"},
 {"indexed":false,"name":"inputAmount","type":"uint256"},{"indexed":false,"name":"outputAmount","type":"uint256"},
 {"indexed":false,"name":"repaymentChainId","type":"uint256"},{"indexed":true,"name":"originChainId","type":"uint256"},
 {"indexed":true,"name":"depositId","type":"uint256"},{"indexed":false,"name":"fillDeadline","type":"uint32"},
 {"indexed":false,"name":"exclusivityDeadline","type":"uint32"},{"indexed":false,"name":"exclusiveRelayer","type":"bytes32"},
 {"indexed":true,"name":"relayer","type":"bytes32"},{"indexed":false,"name":"depositor","type":"bytes32"},
 {"indexed":false,"name":"recipient","type":"bytes32"},{"indexed":false,"name":"messageHash","type":"bytes32"},
 {"indexed":false,"name":"relayExecutionInfo","type":"tuple","components":[
  {"name":"updatedRecipient","type":"bytes32"},{"name":"updatedMessageHash","type":"bytes32"},
  {"name":"updatedOutputAmount","type":"uint256"},{"name":"fillType","type":"uint8"}]}]}]`

var spoke = func() abi.ABI {
	a, err := abi.JSON(strings.NewReader(spokeABI))
	if err != nil {
		panic(err)
	}
	return a
}()

// Topics of the deposit and fill events.
var (
	V3FundsDepositedTopic = spoke.Events["V3FundsDeposited"].ID.Hex()
	FundsDepositedTopic   = spoke.Events["FundsDeposited"].ID.Hex()
	FilledV3RelayTopic    = spoke.Events["FilledV3Relay"].ID.Hex()
	FilledRelayTopic      = spoke.Events["FilledRelay"].ID.Hex()
)

// BridgeName is Across' name in links.
const BridgeName = "across"

// Key names a deposit by its origin chain and id, as its fill does.
func Key(origin uint64, depositID string) string {
	return fmt.Sprintf("%s/%d/%s", BridgeName, origin, depositID)
}

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
		Bridge: BridgeName, SourceChain: l.Chain, SourceTx: l.Tx, SourceLog: l.Index, Contract: strings.ToLower(l.Address),
		Amount: in, MinOut: out, DestChain: "eip155:" + dest.String(),
		Key: Key(l.Network, id.String()),
	}
	c.Asset = chain.Asset(word(vals["inputToken"]))
	c.DestAsset = word(vals["outputToken"])
	c.Recipient, c.Resolved = word(vals["recipient"]), true
	if t := common.FromHex(l.Topics[3]); len(t) == 32 && allZero(t[:12]) {
		c.Depositor = strings.ToLower(common.BytesToAddress(t[12:]).Hex())
	}
	return c, true, nil
}

// word reads an address argument: an address, or a bytes32 that holds
// one (an EVM address in the low 20 bytes; other chains' keys fill the
// word, kept as hex).
func word(v any) string {
	switch a := v.(type) {
	case common.Address:
		return strings.ToLower(a.Hex())
	case [32]byte:
		if allZero(a[:12]) {
			return strings.ToLower(common.BytesToAddress(a[12:]).Hex())
		}
		return "0x" + common.Bytes2Hex(a[:])
	}
	return ""
}

// Payout reads a fill of a trusted pool: the relayer paid the recipient
// (updated by the depositor, if they sped the deposit up) the output
// amount of the output token. The fill names the origin chain and the
// deposit id, the deposit's Key.
func (p SpokePool) Payout(l bridge.Log) (bridge.Payout, bool, error) {
	if len(l.Topics) == 0 || !p.Pools[strings.ToLower(l.Address)] {
		return bridge.Payout{}, false, nil
	}
	var ev abi.Event
	switch strings.ToLower(l.Topics[0]) {
	case FilledV3RelayTopic:
		ev = spoke.Events["FilledV3Relay"]
	case FilledRelayTopic:
		ev = spoke.Events["FilledRelay"]
	default:
		return bridge.Payout{}, false, nil
	}
	fail := func(err error) (bridge.Payout, bool, error) {
		return bridge.Payout{}, true, fmt.Errorf("across: fill %s log %d: %w", l.Tx, l.Index, err)
	}
	if len(l.Topics) != 4 {
		return fail(fmt.Errorf("%d topics, want 4", len(l.Topics)))
	}
	vals := map[string]any{}
	if err := ev.Inputs.NonIndexed().UnpackIntoMap(vals, l.Data); err != nil {
		return fail(err)
	}
	origin := new(big.Int).SetBytes(common.FromHex(l.Topics[1]))
	id := new(big.Int).SetBytes(common.FromHex(l.Topics[2]))
	if !origin.IsUint64() {
		return fail(fmt.Errorf("origin chain %s", origin))
	}
	// The execution info is a tuple: go-ethereum decodes it into an
	// anonymous struct, read by field name.
	info := reflect.ValueOf(vals["relayExecutionInfo"])
	if info.Kind() != reflect.Struct {
		return fail(fmt.Errorf("no relay execution info"))
	}
	amt, ok := info.FieldByName("UpdatedOutputAmount").Interface().(*big.Int)
	if !ok {
		return fail(fmt.Errorf("no updated output amount"))
	}
	out, err := chain.AmountFromBig(amt)
	if err != nil {
		return fail(err)
	}
	to := word(info.FieldByName("UpdatedRecipient").Interface())
	if to == "" || to == zeroAddress {
		to = word(vals["recipient"])
	}
	return bridge.Payout{Bridge: BridgeName, Key: Key(origin.Uint64(), id.String()), Tx: l.Tx, Log: l.Index,
		To: to, Asset: chain.Asset(word(vals["outputToken"])), Amount: out}, true, nil
}

const zeroAddress = "0x0000000000000000000000000000000000000000"

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
