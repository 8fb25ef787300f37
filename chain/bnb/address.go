// Package bnb holds the address codec of BNB Beacon Chain (formerly
// Binance Chain, BEP-2 tokens): bech32 (not bech32m) under bnb (tbnb on
// testnet) of a 20-byte account hash. The chain was shut down in 2024; its
// addresses remain in sanctions lists. BNB Smart Chain (BEP-20) addresses
// are Ethereum's: chain.Ethereum.
//
// Canonical form: lower case.
package bnb

import (
	"fmt"
	"strings"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/btcfamily"
	"github.com/tracehound/tracehound/chain/internal/bech32"
)

var parts = map[string]chain.Network{"bnb": chain.Mainnet, "tbnb": chain.Testnet}

// Codec parses BNB Beacon Chain addresses. The zero value is ready to use.
type Codec struct{}

// Chain is chain.BNBBeacon.
func (Codec) Chain() chain.Chain { return chain.BNBBeacon }

// Looks reports whether s starts with bnb1 or tbnb1 in either case.
func (Codec) Looks(s string) bool {
	return bech32.HasPrefix(s, "bnb") || bech32.HasPrefix(s, "tbnb")
}

// Parse validates s and returns it in lower case.
func (Codec) Parse(s string) (chain.Address, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return chain.Address{}, addrErr(s, chain.ReasonEmpty, "")
	}
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		return chain.Address{}, addrErr(s, chain.ReasonFormat, "a 0x address is BNB Smart Chain's, an Ethereum address: name the chain bsc")
	}
	var buf [90]byte
	hrp, data, variant, err := bech32.Decode(s, 90, buf[:0])
	if err == bech32.ErrMixedCase {
		detail := err.Error()
		if a, e := (Codec{}).Parse(strings.ToLower(s)); e == nil {
			detail += "; valid in lower case: " + a.Value
		}
		return chain.Address{}, addrErr(s, chain.ReasonFormat, detail)
	}
	if err != nil {
		return chain.Address{}, addrErr(s, btcfamily.Bech32Reason(err), err.Error())
	}
	net, ok := parts[hrp]
	if !ok {
		return chain.Address{}, addrErr(s, chain.ReasonFormat, "human-readable part "+hrp+", want bnb or tbnb")
	}
	if variant != bech32.Bech32 {
		return chain.Address{}, addrErr(s, chain.ReasonChecksum, "bech32m checksum; BNB Beacon Chain uses bech32")
	}
	var pbuf [64]byte
	b, err := bech32.Bytes(pbuf[:0], data)
	if err != nil {
		return chain.Address{}, addrErr(s, chain.ReasonFormat, err.Error())
	}
	if len(b) != 20 {
		return chain.Address{}, addrErr(s, chain.ReasonLength, fmt.Sprintf("%d bytes, want 20", len(b)))
	}
	return chain.Address{Chain: chain.BNBBeacon, Network: net, Kind: "account", Value: strings.ToLower(s)}, nil
}

func addrErr(s, reason, detail string) error {
	return &chain.AddressError{Input: s, Chain: chain.BNBBeacon, Reason: reason, Detail: detail}
}
