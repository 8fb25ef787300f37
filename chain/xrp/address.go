// Package xrp holds the XRP Ledger's address codec: classic addresses
// (r..., an account ID of 20 bytes under version 0) and X-addresses
// (XLS-5d: X... on mainnet, T... on testnet, an account ID with an
// optional destination tag), both base58check (double SHA-256) in the
// ledger's own alphabet rpshnaf39wBUDNEGHJKLM4PQRST7VWXYZ2bcdeCg65jkm8oFqi1tuvAxyz.
//
// Canonical form: the classic address as written; an X-address without a
// tag becomes its classic address (it names the same account and nothing
// more). An X-address with a tag stays as written, Kind "x-address": the
// tag names one customer of an exchange's shared account, and keying it
// by the account alone would flag every customer; Account gives the
// account for a look-up of the holder as well. Family seeds (s...) are
// secrets: they are refused without being echoed.
package xrp

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/btcfamily"
)

const alphabet = "rpshnaf39wBUDNEGHJKLM4PQRST7VWXYZ2bcdeCg65jkm8oFqi1tuvAxyz"

const bitcoinAlphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// toBitcoin maps a character of the ledger's alphabet to the one of
// Bitcoin's with the same value, so that btcutil's base58 decodes it; 0
// for characters outside it.
var toBitcoin, fromBitcoin = func() (to, from [256]byte) {
	for i := 0; i < len(alphabet); i++ {
		to[alphabet[i]] = bitcoinAlphabet[i]
		from[bitcoinAlphabet[i]] = alphabet[i]
	}
	return to, from
}()

// Versions: the account ID, and X-addresses' two-byte prefixes.
const (
	accountVersion = 0x00
	seedVersion    = 0x21
)

var (
	xMainnet = [2]byte{0x05, 0x44}
	xTestnet = [2]byte{0x04, 0x93}
)

// Codec parses XRP Ledger addresses. The zero value is ready to use.
type Codec struct{}

// Chain is chain.XRP.
func (Codec) Chain() chain.Chain { return chain.XRP }

// Looks reports whether s has the shape of a classic address (r..., 25
// to 35 characters) or an X-address (X... or T..., 47 characters), in the
// ledger's alphabet.
func (Codec) Looks(s string) bool {
	switch {
	case len(s) >= 25 && len(s) <= 35 && s[0] == 'r':
	case len(s) == 47 && (s[0] == 'X' || s[0] == 'T'):
	default:
		return false
	}
	for i := 0; i < len(s); i++ {
		if toBitcoin[s[i]] == 0 {
			return false
		}
	}
	return true
}

// Parse validates s and returns its canonical form.
func (Codec) Parse(s string) (chain.Address, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return chain.Address{}, addrErr(s, chain.ReasonEmpty, "")
	}
	b, err := decodeCheck(s)
	if err != nil {
		return chain.Address{}, err
	}
	switch {
	case len(b) == 21 && b[0] == accountVersion:
		// A classic address does not say which network it is on.
		return chain.Address{Chain: chain.XRP, Kind: "account", Value: s}, nil
	case len(b) == 31 && ([2]byte(b[:2]) == xMainnet || [2]byte(b[:2]) == xTestnet):
		return parseX(s, b)
	case len(b) == 17 && b[0] == seedVersion:
		return chain.Address{}, &chain.AddressError{Input: "(withheld)", Chain: chain.XRP, Reason: chain.ReasonFormat,
			Detail: "a family seed: a secret key, not an address; it was not kept"}
	case b[0] == accountVersion:
		return chain.Address{}, addrErr(s, chain.ReasonLength, fmt.Sprintf("account ID of %d bytes, want 20", len(b)-1))
	}
	return chain.Address{}, addrErr(s, chain.ReasonFormat, fmt.Sprintf("version 0x%02x is not an account address", b[0]))
}

// decodeCheck decodes base58check in the ledger's alphabet.
func decodeCheck(s string) ([]byte, error) {
	if len(s) > 64 {
		return nil, addrErr(s, chain.ReasonLength, fmt.Sprintf("%d characters", len(s)))
	}
	var buf [64]byte
	for i := 0; i < len(s); i++ {
		c := toBitcoin[s[i]]
		if c == 0 {
			return nil, addrErr(s, chain.ReasonFormat, fmt.Sprintf("%q at %d is not in the XRP Ledger's base58 alphabet", s[i], i+1))
		}
		buf[i] = c
	}
	b, err := btcfamily.DecodeCheck(string(buf[:len(s)]))
	if err != nil {
		ce := err.(*btcfamily.CheckError)
		return nil, addrErr(s, ce.Reason, ce.Detail)
	}
	return b, nil
}

// encodeCheck is base58check in the ledger's alphabet.
func encodeCheck(version, payload []byte) string {
	b := []byte(btcfamily.EncodeCheck(version, payload))
	for i, c := range b {
		b[i] = fromBitcoin[c]
	}
	return string(b)
}

func parseX(s string, b []byte) (chain.Address, error) {
	net := chain.Mainnet
	if [2]byte(b[:2]) == xTestnet {
		net = chain.Testnet
	}
	account, flag, tag := b[2:22], b[22], b[23:31]
	hi := binary.LittleEndian.Uint32(tag[4:])
	switch {
	case flag > 1:
		return chain.Address{}, addrErr(s, chain.ReasonFormat, fmt.Sprintf("tag flag %d", flag))
	case hi != 0:
		return chain.Address{}, addrErr(s, chain.ReasonFormat, "tag wider than 32 bits")
	case flag == 0 && binary.LittleEndian.Uint32(tag) != 0:
		return chain.Address{}, addrErr(s, chain.ReasonFormat, "a tag without the tag flag")
	case flag == 0 && net == chain.Mainnet:
		return chain.Address{Chain: chain.XRP, Kind: "account", Value: encodeCheck([]byte{accountVersion}, account)}, nil
	}
	// A tagged X-address, or any on testnet (where the classic form would
	// lose the network), stays as written.
	return chain.Address{Chain: chain.XRP, Network: net, Kind: "x-address", Value: s}, nil
}

// Account returns the classic address of the account an address names,
// and the destination tag an X-address carries. ok is false for what is
// not a parsed XRP address.
func Account(a chain.Address) (account string, tag uint32, hasTag, ok bool) {
	if a.Chain != chain.XRP {
		return "", 0, false, false
	}
	if a.Kind == "account" {
		return a.Value, 0, false, true
	}
	b, err := decodeCheck(a.Value)
	if err != nil || len(b) != 31 {
		return "", 0, false, false
	}
	return encodeCheck([]byte{accountVersion}, b[2:22]), binary.LittleEndian.Uint32(b[23:27]), b[22] == 1, true
}

func addrErr(s, reason, detail string) error {
	return &chain.AddressError{Input: s, Chain: chain.XRP, Reason: reason, Detail: detail}
}
