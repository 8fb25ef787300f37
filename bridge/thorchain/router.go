package thorchain

import (
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"

	"github.com/tracehound/tracehound/bridge"
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/btc"
	"github.com/tracehound/tracehound/chain/eth"
	"github.com/tracehound/tracehound/chain/tron"
)

// routerABI is the Deposit event of THORChain's EVM routers, the same in
// every router version (V1 to V6.1): the vault and the asset indexed, the
// amount and the memo in the data.
const routerABI = `[{"anonymous":false,"inputs":[
 {"indexed":true,"name":"to","type":"address"},
 {"indexed":true,"name":"asset","type":"address"},
 {"indexed":false,"name":"amount","type":"uint256"},
 {"indexed":false,"name":"memo","type":"string"}],
 "name":"Deposit","type":"event"}]`

var depositEvent = func() abi.Event {
	a, err := abi.JSON(strings.NewReader(routerABI))
	if err != nil {
		panic(err)
	}
	return a.Events["Deposit"]
}()

// DepositTopic is the Deposit event's topic 0.
var DepositTopic = depositEvent.ID.Hex()

// Deposit is a router Deposit event.
type Deposit struct {
	Vault  string      // the Asgard vault the deposit is for
	Asset  chain.Asset // "" for the native coin
	Amount chain.Amount
	Memo   string
}

// DecodeDeposit decodes a Deposit event's topics and data.
func DecodeDeposit(topics []string, data []byte) (Deposit, error) {
	if len(topics) != 3 {
		return Deposit{}, fmt.Errorf("Deposit event with %d topics, want 3", len(topics))
	}
	if !strings.EqualFold(topics[0], DepositTopic) {
		return Deposit{}, fmt.Errorf("topic %s is not the router's Deposit", topics[0])
	}
	vault, err1 := topicAddress(topics[1])
	asset, err2 := topicAddress(topics[2])
	if err := errors.Join(err1, err2); err != nil {
		return Deposit{}, err
	}
	vals, err := depositEvent.Inputs.NonIndexed().Unpack(data)
	if err != nil {
		return Deposit{}, fmt.Errorf("Deposit data: %w", err)
	}
	v, ok1 := vals[0].(*big.Int)
	memo, ok2 := vals[1].(string)
	if !ok1 || !ok2 {
		return Deposit{}, errors.New("Deposit data: not (uint256, string)")
	}
	amount, err := chain.AmountFromBig(v)
	if err != nil {
		return Deposit{}, err
	}
	d := Deposit{Vault: vault, Amount: amount, Memo: memo}
	if asset != nativeAsset {
		d.Asset = chain.Asset(asset)
	}
	return d, nil
}

const nativeAsset = "0x0000000000000000000000000000000000000000"

// topicAddress reads an indexed address: 32 bytes, the first 12 zero.
func topicAddress(t string) (string, error) {
	b := common.FromHex(t)
	if len(b) != 32 {
		return "", fmt.Errorf("topic %q is not 32 bytes", t)
	}
	for _, c := range b[:12] {
		if c != 0 {
			return "", fmt.Errorf("topic %q is not an address", t)
		}
	}
	return strings.ToLower(common.BytesToAddress(b[12:]).Hex()), nil
}

// Router links Deposit events of THORChain routers to where the swap
// pays out. Routers holds the router contracts to trust (lower-case);
// Maya Protocol's and other forks' routers emit the same event, so a log
// from any other contract is not a THORChain deposit.
type Router struct {
	Routers map[string]bool
}

// Mainnet routers of Ethereum: V4.1 (inbound), V6.1, and the historic
// V1 to V3, whose events are the same.
var EthereumRouters = map[string]bool{
	"0xd37bbe5744d730a1d98d8dc97c42f0ca46ad7146": true,
	"0x00dc6100103bc402d490aee3f9a5560cbd91f1d4": true,
	"0x3624525075b88b24ecc29ce226b0cec1ffcb6976": true,
	"0xc145990e84155416144c532e31f89b840ca8c2ce": true,
	"0x42a5ed456650a09dc10ebc6361a7480fdd61f27b": true,
}

var _ bridge.Adapter = Router{}

// Link reads a Deposit of a trusted router. Only swaps (and loans, which
// pay out the debt asset) continue on another chain; other memos (adding
// liquidity, trade accounts ...) keep the funds inside THORChain and are
// not continuations. The payout carries "OUT:" and the deposit's hash.
func (r Router) Link(l bridge.Log) (bridge.Continuation, bool, error) {
	if len(l.Topics) == 0 || !strings.EqualFold(l.Topics[0], DepositTopic) || !r.Routers[strings.ToLower(l.Address)] {
		return bridge.Continuation{}, false, nil
	}
	d, err := DecodeDeposit(l.Topics, l.Data)
	if err != nil {
		return bridge.Continuation{}, true, fmt.Errorf("THORChain deposit %s log %d: %w", l.Tx, l.Index, err)
	}
	m, err := Parse(d.Memo)
	if err != nil {
		return bridge.Continuation{}, true, fmt.Errorf("THORChain deposit %s log %d: %w", l.Tx, l.Index, err)
	}
	if m.Kind != Swap && m.Kind != LimitSwap && m.Kind != LoanOpen && m.Kind != LoanRepay {
		return bridge.Continuation{}, false, nil
	}
	c := bridge.Continuation{
		Bridge: "thorchain", SourceChain: l.Chain, SourceTx: l.Tx, SourceLog: l.Index,
		Asset: d.Asset, Amount: d.Amount,
		DestChain: m.Asset.Chain, DestAsset: m.Asset.String(), Recipient: m.Dest,
		MinOut: m.Limit,
		Key:    "OUT:" + strings.ToUpper(strings.TrimPrefix(l.Tx, "0x")),
	}
	if m.Asset.Kind != Native {
		// Synths, trade and secured assets stay on THORChain.
		c.DestChain = "THOR"
	}
	c.Recipient, c.Resolved = Resolve(c.DestChain, m.Dest)
	return c, true, nil
}

// Resolve checks a destination with the codec of its THORChain chain and
// returns it in canonical form. ok is false when it is not an address of
// that chain (a THORName, which THORChain resolves at the time of the
// swap, or a chain without a codec here): the caller must resolve it.
func Resolve(thorChain, dest string) (string, bool) {
	var c chain.Codec
	switch thorChain {
	case "BTC":
		c = btc.Codec{}
	case "ETH", "BSC", "AVAX", "BASE":
		c = eth.Codec{}
	case "TRON":
		c = tron.Codec{}
	default:
		return dest, false
	}
	a, err := c.Parse(dest)
	if err != nil {
		return dest, false
	}
	return a.Value, true
}
