// Package registry puts every address codec behind one chain.Parser and
// looks chain names up strictly, for user input.
//
// Detection order. With no chain named, chain.Parser tries the codecs
// whose Looks accepts the string, in the order of Codecs, and Parse keeps
// the first that validates it. Shapes rarely overlap, but where one
// string is valid on several chains the order decides Parse's answer
// (chain.Parser.ParseAll returns every reading, which screening needs):
//
//   - Ethereum and Tron first: 0x... and T... are unambiguous.
//   - Bitcoin before its forks: a legacy 1... or 3... string is also a
//     Bitcoin Cash and Bitcoin SV address (and 3... a Litecoin one), and
//     Bitcoin's is the reading most often meant.
//   - Dogecoin before Verge: they share the D... version.
//   - The other checksummed formats next, each of its own shape.
//   - Solana last: with no checksum, any base58 string of 32 bytes is a
//     Solana address, so every codec that can verify a string goes first
//     and the first error reported is a checksummed codec's.
package registry

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/ada"
	"github.com/tracehound/tracehound/chain/algo"
	"github.com/tracehound/tracehound/chain/bch"
	"github.com/tracehound/tracehound/chain/bnb"
	"github.com/tracehound/tracehound/chain/bsv"
	"github.com/tracehound/tracehound/chain/btc"
	"github.com/tracehound/tracehound/chain/btg"
	"github.com/tracehound/tracehound/chain/dash"
	"github.com/tracehound/tracehound/chain/doge"
	"github.com/tracehound/tracehound/chain/eth"
	"github.com/tracehound/tracehound/chain/ltc"
	"github.com/tracehound/tracehound/chain/sol"
	"github.com/tracehound/tracehound/chain/ss58"
	"github.com/tracehound/tracehound/chain/tron"
	"github.com/tracehound/tracehound/chain/xlm"
	"github.com/tracehound/tracehound/chain/xmr"
	"github.com/tracehound/tracehound/chain/xrp"
	"github.com/tracehound/tracehound/chain/xvg"
	"github.com/tracehound/tracehound/chain/zec"
)

// Codecs returns every codec, one per chain, in detection order.
func Codecs() []chain.Codec {
	return []chain.Codec{
		eth.Codec{},
		tron.Codec{},
		btc.Codec{},
		bch.Codec{},
		bsv.Codec{},
		ltc.Codec{},
		doge.Codec{},
		xvg.Codec{},
		dash.Codec{},
		btg.Codec{},
		zec.Codec{},
		xmr.Codec{},
		xrp.Codec{},
		xlm.Codec{},
		algo.Codec{},
		ada.Codec{},
		ss58.Polkadot{},
		ss58.Kusama{},
		ss58.Substrate{},
		bnb.Codec{},
		sol.Codec{},
	}
}

// NewParser returns a parser over every codec.
func NewParser() *chain.Parser { return chain.NewParser(Codecs()...) }

// UnknownChainError is Lookup's error for a name it does not know.
type UnknownChainError struct {
	Name       string
	Suggestion string // the nearest accepted name, if one is near
}

func (e *UnknownChainError) Error() string {
	var b strings.Builder
	if strings.TrimSpace(e.Name) == "" {
		b.WriteString("no chain named")
	} else {
		fmt.Fprintf(&b, "unknown chain %q", e.Name)
	}
	if e.Suggestion != "" {
		fmt.Fprintf(&b, " (did you mean %q?)", e.Suggestion)
	}
	b.WriteString("; accepted: ")
	b.WriteString(Accepted())
	return b.String()
}

// Accepted describes the accepted names: each chain with its aliases, and
// the token codes whose address decides the chain.
func Accepted() string {
	byChain := make(map[chain.Chain][]string)
	for _, n := range chain.Names() {
		c, _ := chain.Canonical(n)
		if n != string(c) {
			byChain[c] = append(byChain[c], n)
		}
	}
	var parts []string
	for _, c := range chain.Chains() {
		p := string(c)
		if a := byChain[c]; len(a) > 0 {
			p += " (" + strings.Join(a, ", ") + ")"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ") + "; or a token on several chains (" + strings.Join(byChain[""], ", ") + "), whose address decides"
}

// ErrUnknownChain matches every UnknownChainError with errors.Is.
var ErrUnknownChain = errors.New("unknown chain")

// Is makes errors.Is(err, ErrUnknownChain) hold.
func (e *UnknownChainError) Is(target error) bool { return target == ErrUnknownChain }

// Lookup maps a chain name, alias or asset code (case, spaces, hyphens
// and underscores aside) to its Chain: XBT to btc; ARBETH, BSC, MATIC and
// the other EVM networks to eth; TRX to tron; BNB to the BNB Beacon
// Chain. A token issued on several chains (USDT, USDC) returns the empty
// Chain and no error: the address's shape decides. Any other name, a
// misspelling included, is an *UnknownChainError naming the accepted
// names, never a chain of its own as chain.ParseChain would make it.
func Lookup(name string) (chain.Chain, error) {
	c, ok := chain.Canonical(name)
	if !ok {
		return "", &UnknownChainError{Name: name, Suggestion: suggest(name)}
	}
	return c, nil
}

// suggest returns the accepted name nearest to name, if it is within two
// edits and less than half the name's length away.
func suggest(name string) string {
	n := strings.ToLower(strings.TrimSpace(name))
	best, bestD := "", 3
	for _, cand := range chain.Names() {
		d := distance(n, cand)
		if d < bestD && 2*d < len(n) {
			best, bestD = cand, d
		}
	}
	return best
}

// distance is the Levenshtein distance of a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Chains returns the chains with a codec, in detection order.
func Chains() []chain.Chain {
	var out []chain.Chain
	for _, c := range Codecs() {
		out = append(out, c.Chain())
	}
	return slices.Clip(out)
}

// ParseListed parses an address a list gives under an asset code, as a
// list loader should: under the asset's chain first (through Lookup, so
// a token code lets the shape decide). Lists err: OFAC files a Tron
// address under XBT (feature 65924). An address its asset's chain
// refuses is read by its shape instead, and misfiled says so; the error
// is the asset chain's when no codec takes the string either. An asset
// code Lookup does not know is an error too: keeping such an entry as
// written (chain.Opaque) is the caller's decision.
func ParseListed(p *chain.Parser, s, asset string) (a chain.Address, misfiled bool, err error) {
	c, err := Lookup(asset)
	if err != nil {
		return chain.Address{}, false, err
	}
	a, err = p.Parse(s, c)
	if err == nil || c == "" {
		return a, false, err
	}
	if b, derr := p.Parse(s, ""); derr == nil {
		return b, true, nil
	}
	return chain.Address{}, false, err
}
