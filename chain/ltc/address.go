// Package ltc holds Litecoin's address codec: base58check L... (P2PKH),
// M... and the older 3... (P2SH, Bitcoin's version 5), testnet m/n/Q/2, and
// ltc1 (tltc1, rltc1) bech32/bech32m segwit, over chain/btcfamily.
//
// Canonical form: base58check as written; segwit in lower case. A 3...
// address is also a valid Bitcoin one: the same string names a script on
// each chain.
package ltc

import (
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/btcfamily"
)

// codec is built once and only read.
var codec = btcfamily.New(btcfamily.Litecoin())

// Codec parses Litecoin addresses. The zero value is ready to use.
type Codec struct{}

// Chain is chain.Litecoin.
func (Codec) Chain() chain.Chain { return chain.Litecoin }

// Looks reports whether s has the shape of one of the coin's addresses.
func (Codec) Looks(s string) bool { return codec.Looks(s) }

// Parse validates s (checksum, version, length) and returns its canonical
// form.
func (Codec) Parse(s string) (chain.Address, error) { return codec.Parse(s) }
