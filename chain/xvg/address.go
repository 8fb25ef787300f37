// Package xvg holds Verge's address codec: base58check D... (P2PKH,
// Dogecoin's version) and E... (P2SH), and vg1 bech32 segwit, over
// chain/btcfamily.
//
// Canonical form: base58check as written; segwit in lower case.
package xvg

import (
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/btcfamily"
)

// codec is built once and only read.
var codec = btcfamily.New(btcfamily.Verge())

// Codec parses Verge addresses. The zero value is ready to use.
type Codec struct{}

// Chain is chain.Verge.
func (Codec) Chain() chain.Chain { return chain.Verge }

// Looks reports whether s has the shape of one of the coin's addresses.
func (Codec) Looks(s string) bool { return codec.Looks(s) }

// Parse validates s (checksum, version, length) and returns its canonical
// form.
func (Codec) Parse(s string) (chain.Address, error) { return codec.Parse(s) }
