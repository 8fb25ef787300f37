// Package dash holds Dash's address codec: base58check X... (P2PKH) and
// 7... (P2SH), testnet y... and 8.../9..., over chain/btcfamily.
//
// Canonical form: base58check as written.
package dash

import (
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/btcfamily"
)

// codec is built once and only read.
var codec = btcfamily.New(btcfamily.Dash())

// Codec parses Dash addresses. The zero value is ready to use.
type Codec struct{}

// Chain is chain.Dash.
func (Codec) Chain() chain.Chain { return chain.Dash }

// Looks reports whether s has the shape of one of the coin's addresses.
func (Codec) Looks(s string) bool { return codec.Looks(s) }

// Parse validates s (checksum, version, length) and returns its canonical
// form.
func (Codec) Parse(s string) (chain.Address, error) { return codec.Parse(s) }
