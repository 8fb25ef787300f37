// Package btg holds Bitcoin Gold's address codec: base58check G...
// (P2PKH) and A... (P2SH), and btg1 bech32/bech32m segwit, over
// chain/btcfamily.
//
// Canonical form: base58check as written; segwit in lower case.
package btg

import (
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/btcfamily"
)

// codec is built once and only read.
var codec = btcfamily.New(btcfamily.BitcoinGold())

// Codec parses BitcoinGold addresses. The zero value is ready to use.
type Codec struct{}

// Chain is chain.BitcoinGold.
func (Codec) Chain() chain.Chain { return chain.BitcoinGold }

// Looks reports whether s has the shape of one of the coin's addresses.
func (Codec) Looks(s string) bool { return codec.Looks(s) }

// Parse validates s (checksum, version, length) and returns its canonical
// form.
func (Codec) Parse(s string) (chain.Address, error) { return codec.Parse(s) }
