package across

import (
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/tracehound/tracehound/bridge"
	"github.com/tracehound/tracehound/chain"
)

// The topics are those of Across' SpokePool ABI: keccak256 of the event
// signatures, as indexers of the protocol publish them.
func TestTopics(t *testing.T) {
	if V3FundsDepositedTopic != "0xa123dc29aebf7d0c3322c8eeb5b999e859f39937950ed31056532713d0de396f" ||
		FundsDepositedTopic != "0x32ed1a409ef04c7b0227189c3a103dc5ac10e775a15b785dcc510201f7c25ad3" {
		t.Fatal(V3FundsDepositedTopic, FundsDepositedTopic)
	}
}

// A V3 deposit of 1,000 USDC from Ethereum to Base, encoded with the
// SpokePool ABI (not a recorded event).
func TestLinkV3(t *testing.T) {
	usdc := common.HexToAddress("0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48")
	baseUSDC := common.HexToAddress("0x833589fcd6edb6e08f4c7c32d4f71b54bda02913")
	to := common.HexToAddress("0x47666fab8bd0ac7003bce3f5c3585383f09486e2")
	data, err := spoke.Events["V3FundsDeposited"].Inputs.NonIndexed().Pack(usdc, baseUSDC, big.NewInt(1e9), big.NewInt(999e6),
		uint32(1700000000), uint32(1700003600), uint32(0), to, common.Address{}, []byte{})
	if err != nil {
		t.Fatal(err)
	}
	l := bridge.Log{Chain: chain.Ethereum, Network: 1, Address: "0x5c7bcd6e7de5423a257d81b442095a1a6ced35c5", Tx: "0xabc", Data: data,
		Topics: []string{V3FundsDepositedTopic, common.BigToHash(big.NewInt(8453)).Hex(), common.BigToHash(big.NewInt(1234)).Hex(),
			common.BytesToHash(common.HexToAddress("0x36ed3c0213565530c35115d93a80f9c04d94e4cb").Bytes()).Hex()}}
	c, ok, err := SpokePool{Pools: map[string]bool{l.Address: true}}.Link(l)
	if !ok || err != nil {
		t.Fatal(ok, err)
	}
	if c.DestChain != "eip155:8453" || c.Recipient != "0x47666fab8bd0ac7003bce3f5c3585383f09486e2" || c.Amount != chain.NewAmount(1e9) ||
		c.MinOut != chain.NewAmount(999e6) || c.Asset != chain.Asset("0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48") ||
		c.Depositor != "0x36ed3c0213565530c35115d93a80f9c04d94e4cb" || c.Key != "across/1/1234" || c.Contract != l.Address {
		t.Fatalf("%+v", c)
	}
	l.Data = l.Data[:64]
	if _, ok, err := (SpokePool{Pools: map[string]bool{l.Address: true}}).Link(l); !ok || err == nil {
		t.Fatal(fmt.Sprint("truncated: ", ok, err))
	}
	if _, ok, _ := (SpokePool{}).Link(l); ok {
		t.Fatal("an untrusted pool linked")
	}
}

// A fill names the origin chain and deposit id: its key is the deposit's.
// The depositor's speed-up replaces recipient and amount.
func TestFill(t *testing.T) {
	if FilledV3RelayTopic != crypto.Keccak256Hash([]byte("FilledV3Relay(address,address,uint256,uint256,uint256,uint256,uint32,uint32,uint32,address,address,address,address,bytes,(address,bytes,uint256,uint8))")).Hex() ||
		FilledRelayTopic != crypto.Keccak256Hash([]byte("FilledRelay(bytes32,bytes32,uint256,uint256,uint256,uint256,uint256,uint32,uint32,bytes32,bytes32,bytes32,bytes32,bytes32,(bytes32,bytes32,uint256,uint8))")).Hex() {
		t.Fatal(FilledV3RelayTopic, FilledRelayTopic)
	}
	usdc := common.HexToAddress("0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48")
	baseUSDC := common.HexToAddress("0x833589fcd6edb6e08f4c7c32d4f71b54bda02913")
	to := common.HexToAddress("0x47666fab8bd0ac7003bce3f5c3585383f09486e2")
	newTo := common.HexToAddress("0x1111111111111111111111111111111111111111")
	type info struct {
		UpdatedRecipient    common.Address
		UpdatedMessage      []byte
		UpdatedOutputAmount *big.Int
		FillType            uint8
	}
	pool := "0x09aea4b2242abc8bb4bb78d537a67a245a7bec64"
	for _, c := range []struct {
		info   info
		to     string
		amount uint64
	}{
		{info{common.Address{}, nil, big.NewInt(999e6), 0}, strings.ToLower(to.Hex()), 999e6},
		{info{newTo, nil, big.NewInt(998e6), 0}, strings.ToLower(newTo.Hex()), 998e6},
	} {
		data, err := spoke.Events["FilledV3Relay"].Inputs.NonIndexed().Pack(usdc, baseUSDC, big.NewInt(1e9), big.NewInt(999e6), big.NewInt(1),
			uint32(1700003600), uint32(0), common.Address{}, common.HexToAddress("0x36ed3c0213565530c35115d93a80f9c04d94e4cb"), to, []byte{}, c.info)
		if err != nil {
			t.Fatal(err)
		}
		l := bridge.Log{Chain: chain.Ethereum, Network: 8453, Address: pool, Tx: "0xf111", Index: 2, Data: data,
			Topics: []string{FilledV3RelayTopic, common.BigToHash(big.NewInt(1)).Hex(), common.BigToHash(big.NewInt(1234)).Hex(), common.BytesToHash(newTo.Bytes()).Hex()}}
		p, ok, err := SpokePool{Pools: map[string]bool{pool: true}}.Payout(l)
		if !ok || err != nil {
			t.Fatal(ok, err)
		}
		if p.Key != "across/1/1234" || p.To != c.to || p.Amount != chain.NewAmount(c.amount) || p.Asset != chain.Asset(strings.ToLower(baseUSDC.Hex())) {
			t.Fatalf("%+v", p)
		}
		if _, ok, _ := (SpokePool{Pools: map[string]bool{pool: true}}).Link(l); ok {
			t.Fatal("a fill read as a deposit")
		}
	}
}
