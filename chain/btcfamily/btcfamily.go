// Package btcfamily holds the address machinery that Bitcoin's
// descendants share: base58check with a coin's own version bytes (one or
// two), and bech32/bech32m segwit under a coin's own human-readable part.
// A coin is a table, Params; the named packages (chain/ltc, chain/doge,
// chain/dash, chain/btg, chain/bsv, chain/xvg) wrap one each, and chain/bch
// and chain/zec use the base58check part under their own formats.
//
// Canonical form: base58check as written (the encoding has one spelling
// per payload), segwit in lower case.
package btcfamily

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"strings"

	"github.com/btcsuite/btcd/btcutil/base58"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/internal/bech32"
	"github.com/tracehound/tracehound/chain/internal/charset"
)

// Version is one base58check version prefix of a coin.
type Version struct {
	Prefix  []byte
	Network chain.Network
	Kind    string // p2pkh, p2sh
}

// Params describes one coin's address formats.
type Params struct {
	Chain  chain.Chain
	Name   string // for error details: "Litecoin"
	Base58 []Version
	// Segwit maps bech32 human-readable parts to their network; empty
	// for coins without segwit.
	Segwit map[string]chain.Network
}

// The coins' tables, from each one's chainparams.cpp (PUBKEY_ADDRESS,
// SCRIPT_ADDRESS, bech32_hrp). Functions, so that no caller can change a
// table another codec reads.

// Litecoin's P2SH moved from version 5 (3..., Bitcoin's) to 50 (M...);
// both stay valid.
func Litecoin() Params {
	return Params{Chain: chain.Litecoin, Name: "Litecoin",
		Base58: []Version{
			{[]byte{48}, chain.Mainnet, "p2pkh"},  // L
			{[]byte{50}, chain.Mainnet, "p2sh"},   // M
			{[]byte{5}, chain.Mainnet, "p2sh"},    // 3
			{[]byte{111}, chain.Testnet, "p2pkh"}, // m, n
			{[]byte{58}, chain.Testnet, "p2sh"},   // Q
			{[]byte{196}, chain.Testnet, "p2sh"},  // 2
		},
		Segwit: map[string]chain.Network{"ltc": chain.Mainnet, "tltc": chain.Testnet, "rltc": chain.Regtest}}
}

// Dogecoin has no segwit.
func Dogecoin() Params {
	return Params{Chain: chain.Dogecoin, Name: "Dogecoin",
		Base58: []Version{
			{[]byte{30}, chain.Mainnet, "p2pkh"},  // D
			{[]byte{22}, chain.Mainnet, "p2sh"},   // 9, A
			{[]byte{113}, chain.Testnet, "p2pkh"}, // n
			{[]byte{196}, chain.Testnet, "p2sh"},  // 2
		}}
}

// Dash has no segwit.
func Dash() Params {
	return Params{Chain: chain.Dash, Name: "Dash",
		Base58: []Version{
			{[]byte{76}, chain.Mainnet, "p2pkh"},  // X
			{[]byte{16}, chain.Mainnet, "p2sh"},   // 7
			{[]byte{140}, chain.Testnet, "p2pkh"}, // y
			{[]byte{19}, chain.Testnet, "p2sh"},   // 8, 9
		}}
}

// BitcoinGold has segwit under btg.
func BitcoinGold() Params {
	return Params{Chain: chain.BitcoinGold, Name: "Bitcoin Gold",
		Base58: []Version{
			{[]byte{38}, chain.Mainnet, "p2pkh"}, // G
			{[]byte{23}, chain.Mainnet, "p2sh"},  // A
			{[]byte{111}, chain.Testnet, "p2pkh"},
			{[]byte{196}, chain.Testnet, "p2sh"},
		},
		Segwit: map[string]chain.Network{"btg": chain.Mainnet, "tbtg": chain.Testnet}}
}

// BitcoinSV dropped segwit and kept Bitcoin's legacy addresses.
func BitcoinSV() Params {
	return Params{Chain: chain.BitcoinSV, Name: "Bitcoin SV", Base58: bitcoinLegacy()}
}

// BitcoinCashLegacy is Bitcoin Cash's base58 form, Bitcoin's versions;
// chain/bch turns it into CashAddr.
func BitcoinCashLegacy() Params {
	return Params{Chain: chain.BitcoinCash, Name: "Bitcoin Cash", Base58: bitcoinLegacy()}
}

func bitcoinLegacy() []Version {
	return []Version{
		{[]byte{0}, chain.Mainnet, "p2pkh"},   // 1
		{[]byte{5}, chain.Mainnet, "p2sh"},    // 3
		{[]byte{111}, chain.Testnet, "p2pkh"}, // m, n
		{[]byte{196}, chain.Testnet, "p2sh"},  // 2
	}
}

// Verge shares Dogecoin's P2PKH version (D...): one such string is valid
// on both chains.
func Verge() Params {
	return Params{Chain: chain.Verge, Name: "Verge",
		Base58: []Version{
			{[]byte{30}, chain.Mainnet, "p2pkh"}, // D
			{[]byte{33}, chain.Mainnet, "p2sh"},  // E
			{[]byte{115}, chain.Testnet, "p2pkh"},
			{[]byte{198}, chain.Testnet, "p2sh"},
		},
		Segwit: map[string]chain.Network{"vg": chain.Mainnet, "vt": chain.Testnet}}
}

// ZcashTransparent is Zcash's t-addresses, with two-byte versions;
// chain/zec adds the shielded and unified formats.
func ZcashTransparent() Params {
	return Params{Chain: chain.Zcash, Name: "Zcash",
		Base58: []Version{
			{[]byte{0x1c, 0xb8}, chain.Mainnet, "p2pkh"}, // t1
			{[]byte{0x1c, 0xbd}, chain.Mainnet, "p2sh"},  // t3
			{[]byte{0x1d, 0x25}, chain.Testnet, "p2pkh"}, // tm
			{[]byte{0x1c, 0xba}, chain.Testnet, "p2sh"},  // t2
		}}
}

// mainnetOwners names the coins whose mainnet uses a one-byte version,
// for the detail of a network error.
var mainnetOwners = map[byte]string{
	0: "Bitcoin, Bitcoin Cash or Bitcoin SV", 5: "Bitcoin (or Litecoin's old P2SH)",
	48: "Litecoin", 50: "Litecoin", 30: "Dogecoin or Verge", 22: "Dogecoin", 33: "Verge",
	76: "Dash", 16: "Dash", 38: "Bitcoin Gold", 23: "Bitcoin Gold",
}

// PayloadLen is the length of the hash every base58check and v0 P2WPKH
// address here carries.
const PayloadLen = 20

// Codec parses one coin's addresses. Build it with New.
type Codec struct {
	p       Params
	leading [256]bool // first characters a base58 address of the coin can have
	minLen  int
	maxLen  int
}

// New returns the codec of p.
func New(p Params) *Codec {
	c := &Codec{p: p, minLen: 64}
	for _, v := range p.Base58 {
		// The smallest and largest encodings of the prefix bound its
		// first character and length.
		n := len(v.Prefix) + PayloadLen + 4
		lo := append(bytes.Clone(v.Prefix), make([]byte, n-len(v.Prefix))...)
		hi := append(bytes.Clone(v.Prefix), bytes.Repeat([]byte{0xff}, n-len(v.Prefix))...)
		elo, ehi := base58.Encode(lo), base58.Encode(hi)
		c.minLen, c.maxLen = min(c.minLen, len(elo), len(ehi)), max(c.maxLen, len(elo), len(ehi))
		from, to := strings.IndexByte(alphabet, elo[0]), strings.IndexByte(alphabet, ehi[0])
		if len(elo) != len(ehi) {
			from, to = 0, len(alphabet)-1
		}
		for i := from; i <= to; i++ {
			c.leading[alphabet[i]] = true
		}
	}
	return c
}

const alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// Params returns the coin's table.
func (c *Codec) Params() Params { return c.p }

// Chain is the coin's chain.
func (c *Codec) Chain() chain.Chain { return c.p.Chain }

// Looks reports whether s starts like the coin's base58 addresses and has
// their length, or starts with one of its segwit parts.
func (c *Codec) Looks(s string) bool {
	if c.segwitHRP(s) != "" {
		return true
	}
	return len(s) >= c.minLen && len(s) <= c.maxLen && c.leading[s[0]]
}

func (c *Codec) segwitHRP(s string) string {
	for hrp := range c.p.Segwit {
		if bech32.HasPrefix(s, hrp) {
			return hrp
		}
	}
	return ""
}

// Parse validates s and returns its canonical form.
func (c *Codec) Parse(s string) (chain.Address, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return chain.Address{}, c.err(s, chain.ReasonEmpty, "")
	}
	if hrp := c.segwitHRP(s); hrp != "" {
		return c.parseSegwit(s, hrp)
	}
	return c.ParseBase58(s)
}

// ParseBase58 validates a base58check address of the coin.
func (c *Codec) ParseBase58(s string) (chain.Address, error) {
	b, err := DecodeCheck(s)
	if err != nil {
		return chain.Address{}, c.wrap(s, err)
	}
	for _, v := range c.p.Base58 {
		if !bytes.HasPrefix(b, v.Prefix) {
			continue
		}
		if n := len(b) - len(v.Prefix); n != PayloadLen {
			return chain.Address{}, c.err(s, chain.ReasonLength, fmt.Sprintf("payload of %d bytes, want %d", n, PayloadLen))
		}
		return chain.Address{Chain: c.p.Chain, Network: v.Network, Kind: v.Kind, Value: s}, nil
	}
	detail := fmt.Sprintf("version 0x%02x is not %s's", b[0], c.p.Name)
	if owner, ok := mainnetOwners[b[0]]; ok && len(b) == 1+PayloadLen {
		detail += "; it is " + owner + "'s"
	}
	return chain.Address{}, c.err(s, chain.ReasonNetwork, detail)
}

// CheckError is a base58check decoding failure with the chain reason it
// maps to.
type CheckError struct{ Reason, Detail string }

func (e *CheckError) Error() string { return e.Reason + ": " + e.Detail }

// DecodeCheck decodes base58check (Bitcoin's alphabet, double SHA-256
// checksum) and returns the version bytes and payload without the
// checksum. Errors are *CheckError.
func DecodeCheck(s string) ([]byte, error) {
	if len(s) > 128 {
		return nil, &CheckError{chain.ReasonLength, fmt.Sprintf("%d characters", len(s))}
	}
	if i := charset.NotBase58(s); i >= 0 {
		return nil, &CheckError{chain.ReasonFormat, fmt.Sprintf("%q at %d is not base58", s[i], i+1)}
	}
	b := base58.Decode(s)
	if len(b) < 5 {
		return nil, &CheckError{chain.ReasonLength, "too short for base58check"}
	}
	if !CheckSum(b) {
		return nil, &CheckError{chain.ReasonChecksum, "base58check checksum mismatch"}
	}
	return b[:len(b)-4], nil
}

// CheckSum reports whether b's last four bytes are the first four of the
// double SHA-256 of the rest.
func CheckSum(b []byte) bool {
	n := len(b) - 4
	h := sha256.Sum256(b[:n])
	h = sha256.Sum256(h[:])
	return bytes.Equal(h[:4], b[n:])
}

// EncodeCheck is base58check of version and payload.
func EncodeCheck(version, payload []byte) string {
	b := make([]byte, 0, len(version)+len(payload)+4)
	b = append(append(b, version...), payload...)
	h := sha256.Sum256(b)
	h = sha256.Sum256(h[:])
	return base58.Encode(append(b, h[:4]...))
}

func (c *Codec) parseSegwit(s, hrp string) (chain.Address, error) {
	var buf [90]byte
	_, data, variant, err := bech32.Decode(s, 90, buf[:0])
	if err != nil {
		return chain.Address{}, c.bech32Err(s, err)
	}
	if len(data) < 1 || data[0] > 16 {
		return chain.Address{}, c.err(s, chain.ReasonFormat, "no witness version")
	}
	wv := data[0]
	var pbuf [64]byte
	prog, err := bech32.Bytes(pbuf[:0], data[1:])
	if err != nil {
		return chain.Address{}, c.err(s, chain.ReasonFormat, err.Error())
	}
	if len(prog) < 2 || len(prog) > 40 || (wv == 0 && len(prog) != 20 && len(prog) != 32) {
		return chain.Address{}, c.err(s, chain.ReasonLength, fmt.Sprintf("witness v%d program of %d bytes", wv, len(prog)))
	}
	if want := witnessVariant(wv); variant != want {
		return chain.Address{}, c.err(s, chain.ReasonFormat, fmt.Sprintf("witness v%d needs a %s checksum, has %s", wv, want, variant))
	}
	kind := fmt.Sprintf("witness-v%d", wv)
	switch {
	case wv == 0 && len(prog) == 20:
		kind = "p2wpkh"
	case wv == 0:
		kind = "p2wsh"
	case wv == 1 && len(prog) == 32:
		kind = "p2tr"
	}
	return chain.Address{Chain: c.p.Chain, Network: c.p.Segwit[hrp], Kind: kind, Value: strings.ToLower(s)}, nil
}

func witnessVariant(v byte) bech32.Variant {
	if v == 0 {
		return bech32.Bech32
	}
	return bech32.Bech32m
}

// bech32Err maps a bech32 failure onto a reason; mixed case names the
// lower-case form when that one is valid.
func (c *Codec) bech32Err(s string, err error) error {
	if err == bech32.ErrMixedCase {
		detail := "mixed upper and lower case"
		if lower := strings.ToLower(s); lower != s {
			if _, e := c.parseSegwit(lower, c.segwitHRP(lower)); e == nil {
				detail += "; valid in lower case: " + lower
			}
		}
		return c.err(s, chain.ReasonFormat, detail)
	}
	return c.err(s, Bech32Reason(err), err.Error())
}

// Bech32Reason maps an error of chain/internal/bech32 onto a chain reason.
func Bech32Reason(err error) string {
	switch err {
	case bech32.ErrChecksum:
		return chain.ReasonChecksum
	case bech32.ErrLength:
		return chain.ReasonLength
	}
	return chain.ReasonFormat
}

func (c *Codec) wrap(s string, err error) error {
	if ce, ok := err.(*CheckError); ok {
		return c.err(s, ce.Reason, ce.Detail)
	}
	return c.err(s, chain.ReasonFormat, err.Error())
}

func (c *Codec) err(s, reason, detail string) error {
	return &chain.AddressError{Input: s, Chain: c.p.Chain, Reason: reason, Detail: detail}
}
