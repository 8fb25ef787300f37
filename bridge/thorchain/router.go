package thorchain

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
	"unicode/utf8"

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

// transferOutABI is the routers' TransferOut event: the vault and the
// recipient indexed, the asset, amount and memo (OUT:<inbound hash>) in
// the data.
const transferOutABI = `[{"anonymous":false,"inputs":[
 {"indexed":true,"name":"vault","type":"address"},
 {"indexed":true,"name":"to","type":"address"},
 {"indexed":false,"name":"asset","type":"address"},
 {"indexed":false,"name":"amount","type":"uint256"},
 {"indexed":false,"name":"memo","type":"string"}],
 "name":"TransferOut","type":"event"}]`

var transferOutEvent = func() abi.Event {
	a, err := abi.JSON(strings.NewReader(transferOutABI))
	if err != nil {
		panic(err)
	}
	return a.Events["TransferOut"]
}()

// TransferOutTopic is the TransferOut event's topic 0.
var TransferOutTopic = transferOutEvent.ID.Hex()

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

// Link reads a Deposit of a trusted router. Every deposit is one: a swap
// (or a loan, which pays out the debt asset) continues on the chain its
// memo names; other memos (adding liquidity, trade accounts ...) keep the
// funds inside THORChain (DestChain "THOR"); a memo that does not parse is
// an error, with the deposit as read and its memo in c, so that a trace
// ends the branch at the router and shows the memo rather than guess.
// The payout carries "OUT:" and the deposit's hash, read into the same
// Key (PayoutKey).
func (r Router) Link(l bridge.Log) (bridge.Continuation, bool, error) {
	if len(l.Topics) == 0 || !strings.EqualFold(l.Topics[0], DepositTopic) || !r.Routers[strings.ToLower(l.Address)] {
		return bridge.Continuation{}, false, nil
	}
	c := bridge.Continuation{
		Bridge: BridgeName, SourceChain: l.Chain, SourceTx: l.Tx, SourceLog: l.Index, Contract: strings.ToLower(l.Address),
		Key: PayoutKey(l.Tx),
	}
	d, err := DecodeDeposit(l.Topics, l.Data)
	if err != nil {
		return c, true, fmt.Errorf("THORChain deposit %s log %d: %w", l.Tx, l.Index, err)
	}
	c.Asset, c.Amount, c.Memo = d.Asset, d.Amount, d.Memo
	m, err := Parse(d.Memo)
	if err != nil {
		return c, true, fmt.Errorf("THORChain deposit %s log %d: %w", l.Tx, l.Index, err)
	}
	c.DestChain = "THOR"
	if m.Kind != Swap && m.Kind != LimitSwap && m.Kind != LoanOpen && m.Kind != LoanRepay {
		return c, true, nil
	}
	c.DestAsset, c.Recipient, c.MinOut = m.Asset.String(), m.Dest, m.Limit
	if m.Asset.Kind == Native {
		// Synths, trade and secured assets stay on THORChain.
		c.DestChain = m.Asset.Chain
	}
	c.Recipient, c.Resolved = Resolve(c.DestChain, m.Dest)
	return c, true, nil
}

// BridgeName is THORChain's name in links.
const BridgeName = "thorchain"

// PayoutKey is the key under which a deposit's payouts are found: the
// deposit's transaction hash as THORChain writes it in OUT: and REFUND:
// memos, upper-case hex without 0x.
func PayoutKey(tx string) string {
	h := strings.TrimPrefix(strings.TrimPrefix(tx, "0x"), "0X")
	return BridgeName + "/" + strings.ToUpper(h)
}

// Payout reads a TransferOut event of a trusted router: THORChain paying
// out on an EVM chain, with "OUT:<inbound hash>" (or "REFUND:") as its
// memo. A TransferOut whose memo is neither (a vault migration) is not a
// payout.
func (r Router) Payout(l bridge.Log) (bridge.Payout, bool, error) {
	if len(l.Topics) == 0 || !strings.EqualFold(l.Topics[0], TransferOutTopic) || !r.Routers[strings.ToLower(l.Address)] {
		return bridge.Payout{}, false, nil
	}
	if len(l.Topics) != 3 {
		return bridge.Payout{}, true, fmt.Errorf("THORChain TransferOut %s log %d: %d topics, want 3", l.Tx, l.Index, len(l.Topics))
	}
	to, err := topicAddress(l.Topics[2])
	if err != nil {
		return bridge.Payout{}, true, fmt.Errorf("THORChain TransferOut %s log %d: %w", l.Tx, l.Index, err)
	}
	vals, err := transferOutEvent.Inputs.NonIndexed().Unpack(l.Data)
	if err != nil {
		return bridge.Payout{}, true, fmt.Errorf("THORChain TransferOut %s log %d: %w", l.Tx, l.Index, err)
	}
	asset, ok1 := vals[0].(common.Address)
	v, ok2 := vals[1].(*big.Int)
	memo, ok3 := vals[2].(string)
	if !ok1 || !ok2 || !ok3 {
		return bridge.Payout{}, true, fmt.Errorf("THORChain TransferOut %s log %d: data is not (address, uint256, string)", l.Tx, l.Index)
	}
	p, ok := PayoutFromMemo(memo, l.Tx, l.Index)
	if !ok {
		return bridge.Payout{}, false, nil
	}
	amount, err := chain.AmountFromBig(v)
	if err != nil {
		return bridge.Payout{}, true, fmt.Errorf("THORChain TransferOut %s log %d: %w", l.Tx, l.Index, err)
	}
	p.To, p.Amount = to, amount
	if a := strings.ToLower(asset.Hex()); a != nativeAsset {
		p.Asset = chain.Asset(a)
	}
	return p, true, nil
}

// PayoutFromMemo reads the memo of a THORChain payout, on any chain (an
// EVM router's TransferOut, a Bitcoin OP_RETURN, a Tron memo): OUT: or
// REFUND: and the inbound hash. ok is false for any other memo. The
// payout's To and Amount are left to the caller.
func PayoutFromMemo(memo, tx string, index uint32) (bridge.Payout, bool) {
	m, err := Parse(memo)
	if err != nil || m.Kind != Out && m.Kind != Refund {
		return bridge.Payout{}, false
	}
	return bridge.Payout{Bridge: BridgeName, Key: PayoutKey(m.TxID), Tx: tx, Log: index, Refund: m.Kind == Refund, Memo: memo}, true
}

// ScriptMemo returns the text an OP_RETURN output script carries (one
// push of data after OP_RETURN, as THORChain's payouts and deposits
// write their memos); ok is false for any other script, and for an
// empty push, which carries no memo.
func ScriptMemo(script []byte) (string, bool) {
	const opReturn, pushData1, pushData2 = 0x6a, 0x4c, 0x4d
	if len(script) < 2 || script[0] != opReturn {
		return "", false
	}
	b := script[1:]
	var n int
	switch op := b[0]; {
	case op >= 1 && op <= 75:
		n, b = int(op), b[1:]
	case op == pushData1 && len(b) >= 2:
		n, b = int(b[1]), b[2:]
	case op == pushData2 && len(b) >= 3:
		n, b = int(b[1])|int(b[2])<<8, b[3:]
	default:
		return "", false
	}
	if n == 0 || n != len(b) || !utf8.Valid(b) {
		return "", false
	}
	return string(b), true
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
