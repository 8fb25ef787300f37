// Package bsv holds Bitcoin SV's address codec: Bitcoin's legacy
// base58check 1... (P2PKH) and 3... (P2SH), testnet m/n/2, over
// chain/btcfamily. Bitcoin SV removed segwit and does not use CashAddr.
//
// Canonical form: base58check as written, the same string as the Bitcoin
// and legacy Bitcoin Cash address of the same hash.
package bsv

import (
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/btcfamily"
)

// codec is built once and only read.
var codec = btcfamily.New(btcfamily.BitcoinSV())

// Codec parses BitcoinSV addresses. The zero value is ready to use.
type Codec struct{}

// Chain is chain.BitcoinSV.
func (Codec) Chain() chain.Chain { return chain.BitcoinSV }

// Looks reports whether s has the shape of one of the coin's addresses.
func (Codec) Looks(s string) bool { return codec.Looks(s) }

// Parse validates s (checksum, version, length) and returns its canonical
// form.
func (Codec) Parse(s string) (chain.Address, error) { return codec.Parse(s) }
