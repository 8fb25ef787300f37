package cbridge

import (
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/tracehound/tracehound/bridge"
	"github.com/tracehound/tracehound/chain"
)

// The topics are keccak256 of the events' signatures in cBridge's
// Bridge.sol.
func TestTopics(t *testing.T) {
	send := crypto.Keccak256Hash([]byte("Send(bytes32,address,address,address,uint256,uint64,uint64,uint32)")).Hex()
	relay := crypto.Keccak256Hash([]byte("Relay(bytes32,address,address,address,uint256,uint64,bytes32)")).Hex()
	if SendTopic != send || RelayTopic != relay {
		t.Fatal(SendTopic, RelayTopic)
	}
}

// A Send of 10,000 USDC from Ethereum to BSC, and the Relay that pays it:
// both read into the same key. Encoded with the contract's ABI.
func TestSendAndRelay(t *testing.T) {
	id := crypto.Keccak256Hash([]byte("a transfer"))
	sender := common.HexToAddress("0x36ed3c0213565530c35115d93a80f9c04d94e4cb")
	receiver := common.HexToAddress("0x47666fab8bd0ac7003bce3f5c3585383f09486e2")
	usdc := common.HexToAddress("0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48")
	data, err := contract.Events["Send"].Inputs.Pack(id, sender, receiver, usdc, big.NewInt(10_000e6), uint64(56), uint64(1700000000), uint32(5000))
	if err != nil {
		t.Fatal(err)
	}
	b := Bridge{Contracts: map[string]bool{EthereumBridge: true}}
	l := bridge.Log{Chain: chain.Ethereum, Network: 1, Address: EthereumBridge, Topics: []string{SendTopic}, Data: data, Tx: "0xabc", Index: 4}
	c, ok, err := b.Link(l)
	if !ok || err != nil {
		t.Fatal(ok, err)
	}
	if c.DestChain != "eip155:56" || c.Recipient != strings.ToLower(receiver.Hex()) || c.Depositor != strings.ToLower(sender.Hex()) ||
		c.Asset != chain.Asset(strings.ToLower(usdc.Hex())) || c.Amount != chain.NewAmount(10_000e6) || c.MinOut != chain.NewAmount(9_950e6) ||
		c.Contract != EthereumBridge || c.Key != Key(id) || c.SourceLog != 4 {
		t.Fatalf("%+v", c)
	}
	if _, ok, _ := b.Payout(l); ok {
		t.Fatal("a Send read as a payout")
	}
	rdata, err := contract.Events["Relay"].Inputs.Pack(crypto.Keccak256Hash([]byte("dst")), sender, receiver, usdc, big.NewInt(9_990e6), uint64(1), id)
	if err != nil {
		t.Fatal(err)
	}
	r := bridge.Log{Chain: chain.Ethereum, Address: EthereumBridge, Topics: []string{RelayTopic}, Data: rdata, Tx: "0xdef", Index: 9}
	p, ok, err := b.Payout(r)
	if !ok || err != nil {
		t.Fatal(ok, err)
	}
	if p.Key != c.Key || p.To != c.Recipient || p.Amount != chain.NewAmount(9_990e6) || p.Tx != "0xdef" || p.Log != 9 {
		t.Fatalf("%+v", p)
	}
	// Through a Set: one deposit, one payout.
	var ev chain.BridgeEvents
	for _, x := range []bridge.Log{l, r} {
		if err := (bridge.Set{b}).Read(x, &ev); err != nil {
			t.Fatal(err)
		}
	}
	if len(ev.Deposits) != 1 || len(ev.Payouts) != 1 || ev.Deposits[0].Key != ev.Payouts[0].Key || ev.Deposits[0].Err != "" {
		t.Fatalf("%+v", ev)
	}
	r.Data = r.Data[:100]
	if _, ok, err := b.Payout(r); !ok || err == nil {
		t.Fatal("a truncated Relay decoded", ok, err)
	}
	if err := (bridge.Set{b}).Read(r, &ev); err == nil {
		t.Fatal("a Set read a truncated Relay")
	}
	l.Address = "0x0000000000000000000000000000000000000001"
	if _, ok, _ := b.Link(l); ok {
		t.Fatal("an untrusted contract linked")
	}
}
