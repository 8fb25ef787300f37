// Package doge holds Dogecoin's address codec: base58check D... (P2PKH),
// 9... and A... (P2SH), testnet n... and 2..., over chain/btcfamily.
// Dogecoin has no segwit.
//
// Canonical form: base58check as written. Verge uses the same P2PKH
// version, so a D... string is valid on both chains (chain.Parser.ParseAll
// gives both readings).
package doge

import (
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/btcfamily"
)

// codec is built once and only read.
var codec = btcfamily.New(btcfamily.Dogecoin())

// Codec parses Dogecoin addresses. The zero value is ready to use.
type Codec struct{}

// Chain is chain.Dogecoin.
func (Codec) Chain() chain.Chain { return chain.Dogecoin }

// Looks reports whether s has the shape of one of the coin's addresses.
func (Codec) Looks(s string) bool { return codec.Looks(s) }

// Parse validates s (checksum, version, length) and returns its canonical
// form.
func (Codec) Parse(s string) (chain.Address, error) { return codec.Parse(s) }
