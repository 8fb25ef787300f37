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

// The address families with a codec (chain/registry holds them all). A
// Chain's string is its lower-case asset code, so that addresses kept
// opaque under the asset code before a codec existed keep their key. An
// asset without a codec still uses its lower-case code as an opaque Chain.
const (
	Bitcoin     Chain = "btc"
	Ethereum    Chain = "eth" // every EVM network: ETC, BSC, Arbitrum, Polygon, Avalanche C-chain, Optimism, Base
	Tron        Chain = "tron"
	Litecoin    Chain = "ltc"
	BitcoinCash Chain = "bch"
	BitcoinSV   Chain = "bsv"
	BitcoinGold Chain = "btg"
	Dash        Chain = "dash"
	Zcash       Chain = "zec"
	Dogecoin    Chain = "doge"
	Verge       Chain = "xvg"
	Monero      Chain = "xmr"
	XRP         Chain = "xrp"
	Stellar     Chain = "xlm"
	Cardano     Chain = "ada"
	Algorand    Chain = "algo"
	Polkadot    Chain = "dot"
	Kusama      Chain = "ksm"
	Substrate   Chain = "substrate" // SS58 with the generic prefix 42
	Solana      Chain = "sol"
	BNBBeacon   Chain = "bnb" // BNB Beacon Chain (BEP-2, bnb1...); BNB Smart Chain is Ethereum
)

// Network tells main and test networks apart where the address encodes it.
type Network string

const (
	Mainnet  Network = "mainnet"
	Testnet  Network = "testnet" // also testnet4, signet and regtest for Bitcoin bech32 "tb"
	Simnet   Network = "simnet"
	Regtest  Network = "regtest"
	Stagenet Network = "stagenet" // Monero's
)

// Address is a parsed, validated address. Value is the canonical form and is
// the key everywhere: lower-case hex for Ethereum, lower-case bech32 for
// segwit, base58 as written for base58 formats; each codec's package doc
// states its own.
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
	// unknown is the detail of the error for a string no codec takes.
	unknown string
}

// NewParser returns a Parser over the given codecs, tried in order when no
// chain is named: where one string is valid on several chains, the first
// codec that accepts it decides Parse's answer (ParseAll gives them all).
func NewParser(codecs ...Codec) *Parser {
	p := &Parser{codecs: codecs, byName: make(map[Chain]Codec, len(codecs))}
	names := make([]string, 0, len(codecs))
	for _, c := range codecs {
		p.byName[c.Chain()] = c
		names = append(names, string(c.Chain()))
	}
	p.unknown = "not an address of " + strings.Join(names, ", ") + "; name the chain to screen other assets"
	return p
}

// Known reports whether the parser has a codec for c.
func (p *Parser) Known(c Chain) bool { _, ok := p.byName[c]; return ok }

// Parse parses s. With hint empty, the chain is detected from the string's
// shape. A hint may be a Chain or any name ParseChain knows ("bsc",
// "XBT"); a token code (USDT) lets the shape decide. With a hint that has
// no codec, s is kept as an opaque address of that chain (trimmed, as
// written) so that no listed address is dropped.
func (p *Parser) Parse(s string, hint Chain) (Address, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Address{}, &AddressError{Input: s, Chain: hint, Reason: ReasonEmpty}
	}
	if hint != "" {
		c, ok := p.byName[hint]
		if !ok {
			if h, known := Canonical(string(hint)); known {
				hint = h
				c, ok = p.byName[h]
			}
		}
		switch {
		case ok:
			return c.Parse(s)
		case hint != "":
			return Opaque(hint, s), nil
		}
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
	return Address{}, &AddressError{Input: s, Reason: ReasonUnknown, Detail: p.unknown}
}

// ParseAll returns every reading of s, in codec order, when no chain is
// named. One string can be valid on several chains: a legacy 1... or 3...
// address on Bitcoin, Bitcoin Cash, Bitcoin SV (and Litecoin for 3...), a
// D... address on Dogecoin and Verge. Screening must look each reading up,
// or a listing under one chain is missed by a query that names none. The
// error is Parse's when no codec accepts s.
func (p *Parser) ParseAll(s string) ([]Address, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, &AddressError{Input: s, Reason: ReasonEmpty}
	}
	var (
		out      []Address
		firstErr error
	)
	for _, c := range p.codecs {
		if !c.Looks(s) {
			continue
		}
		a, err := c.Parse(s)
		switch {
		case err == nil:
			out = append(out, a)
		case firstErr == nil:
			firstErr = err
		}
	}
	switch {
	case len(out) > 0:
		return out, nil
	case firstErr != nil:
		return nil, firstErr
	}
	return nil, &AddressError{Input: s, Reason: ReasonUnknown, Detail: p.unknown}
}

// KindOpaque is the Kind of an address kept as written: no codec
// validated it.
const KindOpaque = "opaque"

// Opaque returns an address kept as written under chain c, for assets
// without a codec.
func Opaque(c Chain, s string) Address {
	return Address{Chain: c, Kind: KindOpaque, Value: strings.TrimSpace(s)}
}

// ParseChain maps user input and asset codes ("BTC", "XBT", "ethereum",
// "TRX", "ARBETH", "USDT" ...) to a Chain through the one alias table
// (Canonical). Asset codes of tokens that live on several chains (USDT,
// USDC) return "" so that the address shape decides. A name it does not
// know comes back lower-cased, as an opaque Chain: it is lenient by design,
// for list loaders that must keep every entry; user input goes through
// chain/registry's strict Lookup instead.
func ParseChain(s string) Chain {
	if c, ok := Canonical(s); ok {
		return c
	}
	return Chain(strings.ToLower(strings.TrimSpace(s)))
}
