// Package cases keeps investigations: a case gathers what an
// investigation rests on (seeds, saved traces with every version of their
// result, addresses of interest with notes, linked alerts and watches,
// freeze requests with their status, attachments) under a reference, a
// TLP marking and a list of the keys allowed on it. Every change goes
// through the audit log, and a case's timeline is the audit entries about
// it. (The package is not named case, a Go keyword.)
package cases

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/intel"
)

// Case is an investigation.
type Case struct {
	// ID is the node's identifier of the case, random and stable.
	ID string `json:"id"`
	// Reference is the investigators' own reference (BYBIT-2025,
	// a court file number); unique in the node.
	Reference string `json:"reference"`
	Title     string `json:"title"`
	Summary   string `json:"summary,omitempty"`
	// TLP marks everything in the case: only keys cleared for it see
	// the case, and a publication carries it.
	TLP    intel.TLP `json:"tlp"`
	Status string    `json:"status"` // open or closed
	// Creator is the name of the key that opened the case; it is always
	// allowed on it.
	Creator string `json:"creator"`
	// Keys are the names of the other keys allowed on the case.
	Keys    []string  `json:"keys"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	// Version counts the changes: an update naming an older version is
	// refused, so that two investigators do not overwrite each other.
	Version int `json:"version"`

	Seeds       []Seed       `json:"seeds"`
	Traces      []Trace      `json:"traces"`
	Addresses   []Address    `json:"addresses"`
	Notes       []Note       `json:"notes"`
	Alerts      []AlertLink  `json:"alerts"`
	Watches     []string     `json:"watches"`
	Freezes     []Freeze     `json:"freezes"`
	Attachments []Attachment `json:"attachments"`
	Shares      []Share      `json:"shares"`
}

// fill gives every list of the case a value, so that a case with no
// notes says "notes": [] rather than null.
func (c *Case) fill() {
	if c.Keys == nil {
		c.Keys = []string{}
	}
	if c.Seeds == nil {
		c.Seeds = []Seed{}
	}
	if c.Traces == nil {
		c.Traces = []Trace{}
	}
	if c.Addresses == nil {
		c.Addresses = []Address{}
	}
	if c.Notes == nil {
		c.Notes = []Note{}
	}
	if c.Alerts == nil {
		c.Alerts = []AlertLink{}
	}
	if c.Watches == nil {
		c.Watches = []string{}
	}
	if c.Freezes == nil {
		c.Freezes = []Freeze{}
	}
	if c.Attachments == nil {
		c.Attachments = []Attachment{}
	}
	if c.Shares == nil {
		c.Shares = []Share{}
	}
}

// Case statuses.
const (
	StatusOpen   = "open"
	StatusClosed = "closed"
)

// Seed is where the stolen funds start: an address or a transaction, in
// the trace request syntax (ADDRESS, TX, TX:OUTPUT, TX:ADDRESS, each
// optionally =AMOUNT and @TIME).
type Seed struct {
	Chain chain.Chain `json:"chain"`
	Seed  string      `json:"seed"`
	Note  string      `json:"note,omitempty"`
	Added time.Time   `json:"added"`
	By    string      `json:"by"`
}

// Trace is a saved trace: the request it ran and every result it gave,
// newest last. The results themselves are kept in the store, one per
// version, since a trace result can run to megabytes.
type Trace struct {
	ID       string         `json:"id"`
	Name     string         `json:"name"`
	Versions []TraceVersion `json:"versions"`
}

// TraceVersion is one run of a saved trace.
type TraceVersion struct {
	Version int       `json:"version"`
	Request []byte    `json:"request"` // the trace request, as JSON
	Created time.Time `json:"created"`
	By      string    `json:"by"`
	// Size is the result's length in bytes, and SHA256 its digest, so
	// that an exported result can be shown to be the one saved.
	Size   int    `json:"size"`
	SHA256 string `json:"sha256"`
	// Summary is what the result said in a line: endpoints, tainted
	// amount, through which block.
	Summary TraceSummary `json:"summary"`
}

// TraceSummary is read from a trace result when it is saved.
type TraceSummary struct {
	Chain     string       `json:"chain,omitempty"`
	Asset     string       `json:"asset,omitempty"`
	Tainted   chain.Amount `json:"tainted"`
	Nodes     int          `json:"nodes"`
	Edges     int          `json:"edges"`
	Endpoints int          `json:"endpoints"`
	Through   uint64       `json:"through_block"`
}

// Address is an address of interest.
type Address struct {
	Chain   chain.Chain `json:"chain"`
	Address string      `json:"address"`
	// Role says what the address is to the case: victim, theft,
	// laundering, deposit, service, other.
	Role string `json:"role,omitempty"`
	Note string `json:"note,omitempty"`
	// Share includes the address when the case is published to
	// partners; a victim's address is never shared.
	Share bool      `json:"share,omitempty"`
	Added time.Time `json:"added"`
	By    string    `json:"by"`
}

// Address roles.
var addressRoles = []string{"victim", "theft", "laundering", "deposit", "service", "other"}

// Note is an investigator's note on the case.
type Note struct {
	ID   string    `json:"id"`
	Text string    `json:"text"`
	By   string    `json:"by"`
	Time time.Time `json:"time"`
}

// AlertLink ties a watch's alert to the case.
type AlertLink struct {
	ID      string      `json:"id"`
	Watch   string      `json:"watch,omitempty"`
	Chain   chain.Chain `json:"chain,omitempty"`
	Address string      `json:"address,omitempty"`
	Added   time.Time   `json:"added"`
	By      string      `json:"by"`
}

// Attachment is a file kept with the case (a victim's statement, an
// exchange's answer). Its content is in the store; the content type is
// sniffed from the bytes, never taken from the uploader.
type Attachment struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	ContentType string    `json:"content_type"`
	Size        int       `json:"size"`
	SHA256      string    `json:"sha256"`
	Added       time.Time `json:"added"`
	By          string    `json:"by"`
}

// Share records a publication of the case to partners.
type Share struct {
	Collection string    `json:"collection"`
	TLP        intel.TLP `json:"tlp"`
	Objects    int       `json:"objects"`
	Time       time.Time `json:"time"`
	By         string    `json:"by"`
}

// Limits on what a case holds, so that one request cannot grow a case
// without bound.
const (
	maxReference = 64
	maxTitle     = 300
	maxText      = 64 << 10 // a note, a summary
	maxShort     = 200      // names, roles, ids
	maxKeys      = 200
	maxItems     = 10_000 // seeds, addresses, notes, links, freezes per case
)

// Visible reports whether a may see c: an administrator sees every case;
// anyone else must be allowed on it by name and cleared for its TLP.
func (c *Case) Visible(a Actor) bool {
	if a.Admin {
		return true
	}
	if a.Name == "" || a.Clearance < c.TLP {
		return false
	}
	return a.Name == c.Creator || slices.Contains(c.Keys, a.Name)
}

// Actor is who acts on a case: the name of the key, whether it is an
// administrator, and its TLP clearance.
type Actor struct {
	Name      string
	Admin     bool
	Clearance intel.TLP
}

// ErrNotFound is a case that does not exist or that the actor may not
// see: the two answer alike, so that a case's existence does not leak.
var ErrNotFound = errors.New("no such case")

// ErrConflict is an update based on an older version of the case, or a
// reference already in use.
var ErrConflict = errors.New("conflict")

// InputError is a mistake in a request.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

func inputf(format string, args ...any) error {
	return &InputError{Msg: fmt.Sprintf(format, args...)}
}

// text checks a free-text field: valid UTF-8, within max bytes, no NUL.
// Control characters other than tab and newline are refused, so that a
// note cannot hide text from a terminal or a report.
func text(field, s string, max int, required bool) (string, error) {
	s = strings.TrimSpace(s)
	if required && s == "" {
		return "", inputf("%s is required", field)
	}
	if len(s) > max {
		return "", inputf("%s is %d bytes; at most %d", field, len(s), max)
	}
	if !utf8.ValidString(s) {
		return "", inputf("%s is not valid UTF-8", field)
	}
	for _, r := range s {
		if r < 0x20 && r != '\n' && r != '\t' && r != '\r' || r == 0x7f {
			return "", inputf("%s holds the control character %U", field, r)
		}
	}
	return s, nil
}

// reference checks a case reference: letters, digits and - _ . / only,
// so that it reads the same in a file name, a URL and a report.
func reference(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", inputf("reference is required")
	}
	if len(s) > maxReference {
		return "", inputf("reference is %d bytes; at most %d", len(s), maxReference)
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./", r)) {
			return "", inputf("reference %q: use letters, digits and - _ . / only", s)
		}
	}
	return s, nil
}

// keyNames checks and sorts the names of the keys allowed on a case.
func keyNames(names []string, creator string) ([]string, error) {
	if len(names) > maxKeys {
		return nil, inputf("%d keys; at most %d", len(names), maxKeys)
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		n, err := text("key name", n, maxShort, true)
		if err != nil {
			return nil, err
		}
		if n != creator && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

func validRole(r string) (string, error) {
	r = strings.ToLower(strings.TrimSpace(r))
	if r == "" {
		return "other", nil
	}
	if !slices.Contains(addressRoles, r) {
		return "", inputf("address role %q: want one of %s", r, strings.Join(addressRoles, ", "))
	}
	return r, nil
}
