// Package btc holds Bitcoin's codecs and wire formats: the address codec
// (base58check P2PKH and P2SH, bech32 segwit v0 and bech32m taproot, on
// every network btcd knows), the block decoder that verifies what it
// decodes, and the record framing of Bitcoin Core's blk*.dat files.
package btc

import (
	"errors"
	"fmt"
	"strings"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/base58"
	"github.com/btcsuite/btcd/btcutil/bech32"
	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracehound/tracehound/chain"
)

// Codec parses Bitcoin addresses. The zero value is ready to use.
type Codec struct{}

// Chain is chain.Bitcoin.
func (Codec) Chain() chain.Chain { return chain.Bitcoin }

// Looks reports whether s has the shape of a Bitcoin address: a bech32
// human-readable part of a known network, or a base58 string of plausible
// length starting with a known version character.
func (Codec) Looks(s string) bool {
	if hrp, ok := bech32HRP(s); ok {
		if _, known := hrpNetworks[hrp]; known {
			return true
		}
		// Base58 addresses contain '1's too: fall through.
	}
	if len(s) < 26 || len(s) > 35 {
		return false
	}
	switch s[0] {
	case '1', '3', 'm', 'n', '2', 'S', 's':
		return true
	}
	return false
}

// base58 version bytes per network.
var base58Versions = map[byte]struct {
	net  chain.Network
	kind string
}{
	chaincfg.MainNetParams.PubKeyHashAddrID:  {chain.Mainnet, "p2pkh"},
	chaincfg.MainNetParams.ScriptHashAddrID:  {chain.Mainnet, "p2sh"},
	chaincfg.TestNet3Params.PubKeyHashAddrID: {chain.Testnet, "p2pkh"},
	chaincfg.TestNet3Params.ScriptHashAddrID: {chain.Testnet, "p2sh"},
	chaincfg.SimNetParams.PubKeyHashAddrID:   {chain.Simnet, "p2pkh"},
	chaincfg.SimNetParams.ScriptHashAddrID:   {chain.Simnet, "p2sh"},
}

// hrpNetworks maps bech32 human-readable parts to btcd's parameters.
var hrpNetworks = map[string]struct {
	net    chain.Network
	params *chaincfg.Params
}{
	chaincfg.MainNetParams.Bech32HRPSegwit:       {chain.Mainnet, &chaincfg.MainNetParams},
	chaincfg.TestNet3Params.Bech32HRPSegwit:      {chain.Testnet, &chaincfg.TestNet3Params},
	chaincfg.RegressionNetParams.Bech32HRPSegwit: {chain.Regtest, &chaincfg.RegressionNetParams},
	chaincfg.SimNetParams.Bech32HRPSegwit:        {chain.Simnet, &chaincfg.SimNetParams},
}

// Parse validates s and returns its canonical form: base58 as written,
// bech32 in lower case.
func (Codec) Parse(s string) (chain.Address, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return chain.Address{}, addrErr(s, chain.ReasonEmpty, "")
	}
	if hrp, ok := bech32HRP(s); ok {
		if n, known := hrpNetworks[hrp]; known {
			return parseSegwit(s, n.net, n.params)
		}
	}
	return parseBase58(s)
}

// bech32HRP returns the lower-cased human-readable part of s if s looks
// like bech32 at all.
func bech32HRP(s string) (string, bool) {
	i := strings.LastIndexByte(s, '1')
	if i < 2 || i > 5 || len(s) < 14 || len(s) > 90 {
		return "", false
	}
	return strings.ToLower(s[:i]), true
}

func parseSegwit(s string, net chain.Network, params *chaincfg.Params) (chain.Address, error) {
	// BIP 173: upper case is valid, mixed case is not; the canonical form
	// is lower case.
	lower := strings.ToLower(s)
	if lower != s && strings.ToUpper(s) != s {
		detail := "mixed upper and lower case"
		if _, err := parseSegwit(lower, net, params); err == nil {
			detail += "; valid in lower case: " + lower
		}
		return chain.Address{}, addrErr(s, chain.ReasonFormat, detail)
	}
	a, err := btcutil.DecodeAddress(lower, params)
	if err != nil {
		return chain.Address{}, segwitErr(s, err)
	}
	kind := ""
	switch a.(type) {
	case *btcutil.AddressWitnessPubKeyHash:
		kind = "p2wpkh"
	case *btcutil.AddressWitnessScriptHash:
		kind = "p2wsh"
	case *btcutil.AddressTaproot:
		kind = "p2tr"
	default:
		return chain.Address{}, addrErr(s, chain.ReasonFormat, fmt.Sprintf("unsupported address type %T", a))
	}
	return chain.Address{Chain: chain.Bitcoin, Network: net, Kind: kind, Value: lower}, nil
}

func segwitErr(s string, err error) error {
	var (
		cs  bech32.ErrInvalidChecksum
		ln  bech32.ErrInvalidLength
		ch  bech32.ErrNonCharsetChar
		ich bech32.ErrInvalidCharacter
	)
	switch {
	case errors.As(err, &cs):
		return addrErr(s, chain.ReasonChecksum, "bech32 checksum mismatch")
	case strings.Contains(err.Error(), "expected bech32"):
		// A v0 program under a bech32m checksum or the reverse.
		return addrErr(s, chain.ReasonChecksum, err.Error())
	case errors.As(err, &ln), strings.Contains(err.Error(), "length"):
		return addrErr(s, chain.ReasonLength, err.Error())
	case errors.As(err, &ch), errors.As(err, &ich):
		return addrErr(s, chain.ReasonFormat, err.Error())
	}
	return addrErr(s, chain.ReasonFormat, err.Error())
}

func parseBase58(s string) (chain.Address, error) {
	payload, version, err := base58.CheckDecode(s)
	switch {
	case errors.Is(err, base58.ErrChecksum):
		return chain.Address{}, addrErr(s, chain.ReasonChecksum, "base58check checksum mismatch")
	case err != nil:
		if len(s) < 26 || len(s) > 35 {
			return chain.Address{}, addrErr(s, chain.ReasonLength, "")
		}
		return chain.Address{}, addrErr(s, chain.ReasonFormat, "not base58check")
	}
	if len(payload) != 20 {
		return chain.Address{}, addrErr(s, chain.ReasonLength, fmt.Sprintf("payload of %d bytes, want 20", len(payload)))
	}
	v, ok := base58Versions[version]
	if !ok {
		return chain.Address{}, addrErr(s, chain.ReasonNetwork, fmt.Sprintf("unknown version byte 0x%02x", version))
	}
	return chain.Address{Chain: chain.Bitcoin, Network: v.net, Kind: v.kind, Value: s}, nil
}

func addrErr(s, reason, detail string) error {
	return &chain.AddressError{Input: s, Chain: chain.Bitcoin, Reason: reason, Detail: detail}
}

// NetworkParams returns the parameters of a Bitcoin network by the name
// users give it: mainnet, testnet3, testnet4, signet, regtest or simnet.
func NetworkParams(name string) (*chaincfg.Params, error) {
	switch name {
	case "mainnet", "main", "":
		return &chaincfg.MainNetParams, nil
	case "testnet3", "testnet":
		return &chaincfg.TestNet3Params, nil
	case "testnet4":
		return &chaincfg.TestNet4Params, nil
	case "signet":
		return &chaincfg.SigNetParams, nil
	case "regtest":
		return &chaincfg.RegressionNetParams, nil
	case "simnet":
		return &chaincfg.SimNetParams, nil
	}
	return nil, fmt.Errorf("want mainnet, testnet3, testnet4, signet, regtest or simnet")
}
