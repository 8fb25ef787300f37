// Package chain holds the chain-neutral types every domain shares: chains,
// validated addresses in canonical form, and exact amounts.
package chain

import (
	"errors"
	"fmt"
	"strings"
)

// Chain names an address family. EVM-compatible networks (Ethereum, BSC,
// Arbitrum, ...) share one family because one key controls the same
// address on all of them, which is what screening must match.
type Chain string

// The chains with a real codec. Other assets (LTC, XMR, ...) use their
// lower-case asset code as an opaque Chain.
const (
	Bitcoin  Chain = "btc"
	Ethereum Chain = "eth"
	Tron     Chain = "tron"
)

// Network tells main and test networks apart where the address encodes it.
type Network string

const (
	Mainnet Network = "mainnet"
	Testnet Network = "testnet" // also testnet4, signet and regtest for Bitcoin bech32 "tb"
	Simnet  Network = "simnet"
	Regtest Network = "regtest"
)

// Address is a parsed, validated address. Value is the canonical form and is
// the key everywhere: lower-case hex for Ethereum, lower-case bech32 for
// segwit, base58 as written for base58 formats.
type Address struct {
	Chain   Chain   `json:"chain"`
	Network Network `json:"network,omitempty"`
	// Kind is the script or encoding type, e.g. p2pkh, p2sh, p2wpkh, p2wsh,
	// p2tr, eoa (Ethereum), base58 (Tron), opaque.
	Kind  string `json:"kind,omitempty"`
	Value string `json:"address"`
}

// Key is the comparable identity of an address: chain plus canonical value.
type Key struct {
	Chain Chain
	Value string
}

// Key returns the address's identity.
func (a Address) Key() Key { return Key{a.Chain, a.Value} }

func (a Address) String() string { return string(a.Chain) + ":" + a.Value }

// IsZero reports whether a is the zero Address.
func (a Address) IsZero() bool { return a.Value == "" }

// Reasons an address is rejected. They are stable strings clients match on.
const (
	ReasonEmpty    = "empty"
	ReasonFormat   = "format"   // wrong characters, prefix or shape
	ReasonLength   = "length"   // wrong length for the format
	ReasonChecksum = "checksum" // base58check, bech32 or EIP-55 checksum mismatch
	ReasonNetwork  = "network"  // valid encoding for another network than asked
	ReasonUnknown  = "unknown"  // no codec recognises the string
)

// AddressError says why a string is not a valid address.
type AddressError struct {
	Input  string
	Chain  Chain
	Reason string
	Detail string
}

func (e *AddressError) Error() string {
	in := e.Input
	if len(in) > 120 {
		in = in[:120] + "..."
	}
	var b strings.Builder
	if e.Chain != "" {
		fmt.Fprintf(&b, "invalid %s address %q: %s", e.Chain, in, e.Reason)
	} else {
		fmt.Fprintf(&b, "invalid address %q: %s", in, e.Reason)
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

// ErrorReason returns the Reason of an *AddressError in err's chain, or "".
func ErrorReason(err error) string {
	var ae *AddressError
	if errors.As(err, &ae) {
		return ae.Reason
	}
	return ""
}

// Codec parses and canonicalises one chain's addresses.
type Codec interface {
	Chain() Chain
	// Looks reports cheaply whether s has this chain's shape, so that a
	// Parser can pick a codec when the caller names no chain.
	Looks(s string) bool
	// Parse validates s (checksums included) and returns its canonical form.
	Parse(s string) (Address, error)
}

// Parser detects the chain of a raw string and parses it with the right codec.
type Parser struct {
	codecs []Codec
	byName map[Chain]Codec
}

// NewParser returns a Parser over the given codecs, tried in order when no
// chain is named.
func NewParser(codecs ...Codec) *Parser {
	p := &Parser{codecs: codecs, byName: make(map[Chain]Codec, len(codecs))}
	for _, c := range codecs {
		p.byName[c.Chain()] = c
	}
	return p
}

// Known reports whether the parser has a codec for c.
func (p *Parser) Known(c Chain) bool { _, ok := p.byName[c]; return ok }

// Parse parses s. With hint empty, the chain is detected from the string's
// shape. With a hint that has no codec, s is kept as an opaque address of
// that chain (trimmed, as written) so that no listed address is dropped.
func (p *Parser) Parse(s string, hint Chain) (Address, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Address{}, &AddressError{Input: s, Chain: hint, Reason: ReasonEmpty}
	}
	if hint != "" {
		if c, ok := p.byName[hint]; ok {
			return c.Parse(s)
		}
		return Opaque(hint, s), nil
	}
	var firstErr error
	for _, c := range p.codecs {
		if !c.Looks(s) {
			continue
		}
		a, err := c.Parse(s)
		if err == nil {
			return a, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return Address{}, firstErr
	}
	return Address{}, &AddressError{Input: s, Reason: ReasonUnknown, Detail: "not a Bitcoin, Ethereum or Tron address; name the chain to screen other assets"}
}

// Opaque returns an address kept as written under chain c, for assets
// without a codec.
func Opaque(c Chain, s string) Address {
	return Address{Chain: c, Kind: "opaque", Value: strings.TrimSpace(s)}
}

// ParseChain maps user input and asset codes ("BTC", "XBT", "ethereum",
// "TRX", "USDT" ...) to a Chain. Asset codes of tokens that live on several
// chains (USDT, USDC) return "" so that the address shape decides.
func ParseChain(s string) Chain {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return ""
	case "btc", "xbt", "bitcoin":
		return Bitcoin
	case "eth", "ethereum", "etc", "bsc", "bnb", "bep20", "arb", "arbitrum", "matic", "polygon", "avax", "op", "optimism", "base", "erc20":
		return Ethereum
	case "tron", "trx", "trc20":
		return Tron
	case "usdt", "usdc":
		return ""
	default:
		return Chain(strings.ToLower(strings.TrimSpace(s)))
	}
}
