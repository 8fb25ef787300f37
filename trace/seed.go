package trace

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tracehound/tracehound/chain"
)

// Seed is where tainted value enters the trace.
type Seed struct {
	// Address is a tainted address: every transfer it received in the
	// trace window is tainted in full (the thief's address after the theft).
	Address string `json:"address,omitempty"`
	// Tx is a tainted transaction: every transfer it made (of the traced
	// asset) is tainted in full at its recipient. With Address too, only
	// the transfers to Address are.
	Tx string `json:"tx,omitempty"`
	// Output narrows a Bitcoin transaction seed to one output.
	Output *uint32 `json:"output,omitempty"`
	// Amount, if not zero, is how much of what the seed received is
	// stolen: its transfers are tainted in time (and transaction) order
	// up to Amount, the last of them in part.
	Amount chain.Amount `json:"amount,omitzero"`
	// Since, if set, is when the seed's funds start to count: an address
	// seed's arrivals before it are clean. It replaces Options.Since for
	// the seed's own arrivals.
	Since time.Time `json:"since,omitzero"`
	// hop is the seed's recipient's hop: past 0 for the payout of a
	// bridge the trace crossed, which continues its numbering.
	hop int
}

// String names a seed as the CLI and API take it:
// ADDRESS | TX[:OUTPUT|:ADDRESS], then [=AMOUNT] [@SINCE].
func (s Seed) String() string {
	var b strings.Builder
	switch {
	case s.Tx != "":
		b.WriteString(s.Tx)
		if s.Output != nil {
			fmt.Fprintf(&b, ":%d", *s.Output)
		} else if s.Address != "" {
			b.WriteString(":" + s.Address)
		}
	default:
		b.WriteString(s.Address)
	}
	if !s.Amount.IsZero() {
		b.WriteString("=" + s.Amount.String())
	}
	if !s.Since.IsZero() {
		b.WriteString("@" + s.Since.UTC().Format(time.RFC3339))
	}
	return b.String()
}

// seedBudget hands out a seed's Amount to its transfers in order.
type seedBudget struct {
	left    chain.Amount
	limited bool
}

func newSeedBudget(s Seed) *seedBudget {
	return &seedBudget{left: s.Amount, limited: !s.Amount.IsZero()}
}

// take returns the taint of a transfer of amount a, and false once the
// budget is spent.
func (b *seedBudget) take(a chain.Amount) (chain.Amount, bool) {
	if !b.limited {
		return a, true
	}
	if b.left.IsZero() {
		return chain.Amount{}, false
	}
	if a.Cmp(b.left) > 0 {
		a = b.left
	}
	b.left = sub(b.left, a)
	return a, true
}

// short reports a seed whose transfers held less than its Amount.
func (b *seedBudget) short(s Seed) error {
	if b.limited && !b.left.IsZero() {
		got := sub(s.Amount, b.left)
		return fmt.Errorf("trace: seed %s: only %s of the %s stated was received in the window (is the chain ingested for that period?)", s, got, s.Amount)
	}
	return nil
}

// AddressParser validates addresses into their canonical form
// (chain.Parser does).
type AddressParser interface {
	Parse(s string, hint chain.Chain) (chain.Address, error)
}

var (
	ethTxHash = regexp.MustCompile(`^0x[0-9a-fA-F]{64}$`)
	btcTxHash = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
)

// ParseSeed reads a seed as String writes it: ADDRESS, or TX,
// TX:OUTPUT (a Bitcoin output's index) or TX:ADDRESS (what the
// transaction paid that address), then optionally =AMOUNT (how much of
// it is stolen, in base units) and @TIME (when the seed's funds start to
// count; RFC 3339 or YYYY-MM-DD). Addresses are validated by p on chain
// c and kept in their canonical form.
func ParseSeed(p AddressParser, c chain.Chain, spec string) (Seed, error) {
	var sd Seed
	rest := spec
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		t, err := ParseTime(rest[i+1:])
		if err != nil {
			return sd, fmt.Errorf("seed %q: start: %v", spec, err)
		}
		sd.Since, rest = t, rest[:i]
	}
	if i := strings.LastIndexByte(rest, '='); i >= 0 {
		a, err := chain.ParseAmount(rest[i+1:])
		if err != nil || a.IsZero() {
			return sd, fmt.Errorf("seed %q: amount %q: want a positive integer in base units", spec, rest[i+1:])
		}
		sd.Amount, rest = a, rest[:i]
	}
	head, out, narrowed := strings.Cut(rest, ":")
	if c == chain.Ethereum && ethTxHash.MatchString(head) || (c == chain.Bitcoin || c == chain.Tron) && btcTxHash.MatchString(head) {
		sd.Tx = strings.ToLower(head)
		if !narrowed {
			return sd, nil
		}
		if n, err := strconv.ParseUint(out, 10, 32); err == nil {
			if c != chain.Bitcoin {
				return sd, fmt.Errorf("seed %q: an output index names a Bitcoin output; on %s give the recipient's address", spec, c)
			}
			o := uint32(n)
			sd.Output = &o
			return sd, nil
		}
		addr, err := p.Parse(out, c)
		if err != nil {
			return sd, fmt.Errorf("seed %q: recipient: %v", spec, err)
		}
		sd.Address = addr.Value
		return sd, nil
	}
	if narrowed {
		return sd, fmt.Errorf("seed %q: only a transaction hash takes :OUTPUT or :ADDRESS", spec)
	}
	addr, err := p.Parse(head, c)
	if err != nil {
		return sd, fmt.Errorf("seed: %v", err)
	}
	sd.Address = addr.Value
	return sd, nil
}

// ParseTime reads a time as seeds and trace windows take it: RFC 3339,
// or a date (YYYY-MM-DD, midnight UTC). An empty string is the zero time.
func ParseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q: want RFC 3339 or YYYY-MM-DD", s)
	}
	return t, nil
}
