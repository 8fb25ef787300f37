package cases

import (
	"slices"
	"strings"
	"time"

	"github.com/tracehound/tracehound/chain"
)

// Freeze is a request to a service (an exchange, a stablecoin issuer) to
// freeze funds it holds, followed from draft to release. Amounts are
// exact base units of Asset.
type Freeze struct {
	ID      string      `json:"id"`
	Service string      `json:"service"` // whom it is addressed to
	Chain   chain.Chain `json:"chain"`
	Address string      `json:"address"` // the deposit address or account
	Asset   chain.Asset `json:"asset,omitempty"`
	// Requested is what the request asks to freeze.
	Requested chain.Amount `json:"requested"`
	// Frozen is what the service reports frozen; Released what it
	// released later.
	Frozen   chain.Amount `json:"frozen"`
	Released chain.Amount `json:"released"`
	Status   string       `json:"status"`
	// Reference is the service's own reference for the request.
	Reference string        `json:"reference,omitempty"`
	Note      string        `json:"note,omitempty"`
	Created   time.Time     `json:"created"`
	Updated   time.Time     `json:"updated"`
	By        string        `json:"by"`
	History   []FreezeEvent `json:"history"`
}

// FreezeEvent is one step of a freeze request.
type FreezeEvent struct {
	Status string       `json:"status"`
	Amount chain.Amount `json:"amount"`
	Note   string       `json:"note,omitempty"`
	Time   time.Time    `json:"time"`
	By     string       `json:"by"`
}

// Freeze statuses, in the order a request moves through them.
const (
	FreezeDrafted      = "drafted"
	FreezeSent         = "sent"
	FreezeAcknowledged = "acknowledged"
	FreezeFrozen       = "frozen"
	FreezeReleased     = "released"
)

// freezeNext is where each status may go. A service may freeze before it
// acknowledges; nothing goes back, so that the history reads as what
// happened.
var freezeNext = map[string][]string{
	FreezeDrafted:      {FreezeSent},
	FreezeSent:         {FreezeAcknowledged, FreezeFrozen},
	FreezeAcknowledged: {FreezeFrozen},
	FreezeFrozen:       {FreezeReleased},
	FreezeReleased:     nil,
}

// FreezeStatuses lists the statuses in order.
func FreezeStatuses() []string {
	return []string{FreezeDrafted, FreezeSent, FreezeAcknowledged, FreezeFrozen, FreezeReleased}
}

// FreezeDraft is a new freeze request.
type FreezeDraft struct {
	Service   string       `json:"service"`
	Chain     string       `json:"chain"`
	Address   string       `json:"address"`
	Asset     chain.Asset  `json:"asset,omitempty"`
	Requested chain.Amount `json:"requested"`
	Note      string       `json:"note,omitempty"`
}

// FreezeMove moves a freeze request to its next status. Amount is what
// was frozen (required for frozen) or released (for released: at most
// what is frozen; zero means all of it).
type FreezeMove struct {
	Status    string       `json:"status"`
	Amount    chain.Amount `json:"amount"`
	Reference string       `json:"reference,omitempty"`
	Note      string       `json:"note,omitempty"`
}

// move applies m to f at now by actor, or says why it may not.
func (f *Freeze) move(m FreezeMove, by string, now time.Time) error {
	to := strings.ToLower(strings.TrimSpace(m.Status))
	if _, ok := freezeNext[to]; !ok {
		return inputf("freeze status %q: want one of %s", m.Status, strings.Join(FreezeStatuses(), ", "))
	}
	if !slices.Contains(freezeNext[f.Status], to) {
		return inputf("freeze request %s is %s: it cannot become %s (next: %s)", f.ID, f.Status, to, orNothing(freezeNext[f.Status]))
	}
	note, err := text("note", m.Note, maxText, false)
	if err != nil {
		return err
	}
	ref, err := text("reference", m.Reference, maxShort, false)
	if err != nil {
		return err
	}
	amount := m.Amount
	switch to {
	case FreezeFrozen:
		if amount.IsZero() {
			return inputf("freeze request %s: give the amount frozen, in base units", f.ID)
		}
		f.Frozen = amount
	case FreezeReleased:
		if amount.IsZero() {
			amount = f.Frozen
		}
		if amount.Cmp(f.Frozen) > 0 {
			return inputf("freeze request %s: %s released is more than the %s frozen", f.ID, amount, f.Frozen)
		}
		f.Released = amount
	default:
		if !amount.IsZero() {
			return inputf("freeze request %s: an amount goes only with frozen or released", f.ID)
		}
	}
	if ref != "" {
		f.Reference = ref
	}
	f.Status, f.Updated = to, now
	f.History = append(f.History, FreezeEvent{Status: to, Amount: amount, Note: note, Time: now, By: by})
	return nil
}

func orNothing(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
