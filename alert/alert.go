// Package alert is the node's one inbox of alerts, whatever raised them:
// a watch whose stolen funds reached a service, a typology rule over
// ingested blocks, the learned scorer, a transfer an exchange registered
// that screened risky, or an old transfer that new knowledge makes risky
// (retroactive). An analyst works the inbox: assigns an alert, dismisses
// it with a reason or escalates it, and drafts a suspicious-transaction
// report from it. Every raise and every change is audited.
//
// It also holds the transfers exchanges register for monitoring (see
// Transfer), since their alerts and their re-evaluation are one domain.
package alert

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/detect"
	"github.com/tracehound/tracehound/detect/rules"
	"github.com/tracehound/tracehound/watch"
)

// Kind says what raised an alert.
type Kind string

// The kinds of alert.
const (
	// KindWatch: a watch's funds reached a service, or more arrived.
	KindWatch Kind = "watch"
	// KindRule: a typology rule matched ingested transfers.
	KindRule Kind = "rule"
	// KindScorer: the learned scorer rates an address illicit.
	KindScorer Kind = "scorer"
	// KindRetroactive: something learned later (a partner's flag, a list
	// update, a tag, a finding) makes registered transfers risky.
	KindRetroactive Kind = "retroactive"
	// KindTransfer: a registered transfer screened at or above the review
	// threshold.
	KindTransfer Kind = "transfer"
)

// Kinds lists every kind.
var Kinds = []Kind{KindWatch, KindRule, KindScorer, KindRetroactive, KindTransfer}

// ParseKind reads a kind's name.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown alert kind %q (want watch, rule, scorer, retroactive or transfer)", s)
}

// Severity orders alerts for triage, on the scale of screening's risk.
type Severity uint8

// The severities.
const (
	Low Severity = iota + 1
	Medium
	High
	Severe
)

var severityNames = [...]string{"", "low", "medium", "high", "severe"}

func (s Severity) String() string {
	if int(s) < len(severityNames) && s > 0 {
		return severityNames[s]
	}
	return fmt.Sprintf("severity(%d)", s)
}

// ParseSeverity reads "low", "medium", "high" or "severe".
func ParseSeverity(s string) (Severity, error) {
	for i, n := range severityNames {
		if i > 0 && strings.EqualFold(s, n) {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q (want low, medium, high or severe)", s)
}

// MarshalText writes the severity's name.
func (s Severity) MarshalText() ([]byte, error) {
	if s < Low || s > Severe {
		return nil, fmt.Errorf("invalid severity %d", s)
	}
	return []byte(s.String()), nil
}

// UnmarshalText reads a severity's name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Status is where an alert stands in its review.
type Status string

// The statuses. An alert is raised open; an analyst assigns it to
// someone, dismisses it (with a reason: a false positive, known
// activity) or escalates it (to a report, a freeze request).
const (
	StatusOpen      Status = "open"
	StatusAssigned  Status = "assigned"
	StatusDismissed Status = "dismissed"
	StatusEscalated Status = "escalated"
)

// ParseStatus reads a status's name.
func ParseStatus(s string) (Status, error) {
	switch st := Status(s); st {
	case StatusOpen, StatusAssigned, StatusDismissed, StatusEscalated:
		return st, nil
	}
	return "", fmt.Errorf("unknown status %q (want open, assigned, dismissed or escalated)", s)
}

// Amount is an exact amount of one asset on one chain, in base units.
type Amount struct {
	Chain chain.Chain  `json:"chain"`
	Asset chain.Asset  `json:"asset,omitempty"`
	Value chain.Amount `json:"value"`
}

// Links tie an alert to what it is about elsewhere in the node.
type Links struct {
	// Watch names the watch that raised it.
	Watch string `json:"watch,omitempty"`
	// Transfers are the ids of registered transfers it concerns.
	Transfers []string `json:"transfers,omitempty"`
	// Finding is the rule finding that raised it.
	Finding *rules.Finding `json:"finding,omitempty"`
	// Alerts are other alerts it follows from (the rule or scorer alert
	// behind a retroactive one).
	Alerts []string `json:"alerts,omitempty"`
}

// Change is one step of an alert's review, as the alert keeps it.
type Change struct {
	Time     time.Time `json:"time"`
	Actor    string    `json:"actor"`
	Status   Status    `json:"status"`
	Assignee string    `json:"assignee,omitempty"`
	Reason   string    `json:"reason,omitempty"`
}

// WatchAlert is the record a watch keeps of its alert.
type WatchAlert = watch.Alert

// Alert is one item of the inbox.
type Alert struct {
	// ID is derived from the kind and the natural key: raising the same
	// alert twice yields one alert.
	ID   string `json:"id"`
	Kind Kind   `json:"kind"`
	// Key is the natural key: what makes two raises the same alert
	// (a watch, an address and a time; a typology, a subject and the
	// block that completed it; a transfer's id ...).
	Key      string   `json:"key"`
	Severity Severity `json:"severity"`
	Status   Status   `json:"status"`
	Assignee string   `json:"assignee,omitempty"`
	// Reason is why the alert was last dismissed or escalated.
	Reason string      `json:"reason,omitempty"`
	Chain  chain.Chain `json:"chain,omitempty"`
	// Addresses are the subject addresses, the principal one first.
	Addresses []string `json:"addresses"`
	Txs       []string `json:"txs"`
	Typology  string   `json:"typology,omitempty"`
	// Score is the strength of a rule finding or the scorer's score, in
	// [0, 1]; 0 where neither applies.
	Score       float64 `json:"score"`
	Explanation string  `json:"explanation"`
	// Amounts are exact, in base units, per chain and asset.
	Amounts []Amount  `json:"amounts,omitempty"`
	Raised  time.Time `json:"raised"`
	Updated time.Time `json:"updated"`
	Links   Links     `json:"links"`
	// Model is the learned scorer's judgement of the principal address,
	// with the features that weighed most, where the graph holds it.
	Model   *detect.AccountScore `json:"model,omitempty"`
	History []Change             `json:"history,omitempty"`
	// WatchAlert is the watch's own record of a watch alert. Its fields
	// (watch, address, label, amount, previous ...) appear at the top
	// level of the alert's JSON, as GET /v1/alerts has always shown
	// them; chain, txs and raised are the alert's own, and equal.
	*WatchAlert
}

// ID is the id of the alert of kind k with natural key key.
func ID(k Kind, key string) string {
	h := sha256.Sum256([]byte(string(k) + "\x00" + key))
	return "al-" + hex.EncodeToString(h[:12])
}

// ErrNotFound is an alert id the inbox does not hold.
var ErrNotFound = errors.New("no such alert")

// Validate checks what a raise must carry.
func (a *Alert) Validate() error {
	if _, err := ParseKind(string(a.Kind)); err != nil {
		return err
	}
	if a.Key == "" {
		return errors.New("an alert needs a natural key")
	}
	if a.Severity < Low || a.Severity > Severe {
		return fmt.Errorf("alert %s: invalid severity %d", a.Key, a.Severity)
	}
	if a.Explanation == "" {
		return fmt.Errorf("alert %s: no explanation", a.Key)
	}
	return nil
}

// Query selects alerts. Empty sets select all.
type Query struct {
	Kinds      []Kind
	Severities []Severity
	Statuses   []Status
	// Watch keeps one watch's alerts.
	Watch string
	// Since keeps alerts raised after it (strictly, so that a poller can
	// pass the last alert's time and get only newer ones).
	Since time.Time
	// Limit, if positive, bounds the alerts returned, except that alerts
	// raised together are never split, so the next page can start after
	// the last one's time.
	Limit int
}

// Match reports whether q selects a (its time and limit aside).
func (q *Query) Match(a *Alert) bool {
	if len(q.Kinds) > 0 && !contains(q.Kinds, a.Kind) {
		return false
	}
	if len(q.Severities) > 0 && !contains(q.Severities, a.Severity) {
		return false
	}
	if len(q.Statuses) > 0 && !contains(q.Statuses, a.Status) {
		return false
	}
	return q.Watch == "" || a.Links.Watch == q.Watch
}

func contains[T comparable](s []T, v T) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// Update is an analyst's change of an alert's status.
type Update struct {
	Status   Status `json:"status"`
	Assignee string `json:"assignee,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// UpdateError is an update the alert cannot take: a missing assignee or
// reason, an unknown status.
type UpdateError struct{ Msg string }

func (e *UpdateError) Error() string { return e.Msg }

// maxText bounds an assignee's name and a reason.
const maxText = 2000

// check validates u as a change of a.
func (u *Update) check() error {
	if _, err := ParseStatus(string(u.Status)); err != nil {
		return &UpdateError{err.Error()}
	}
	u.Assignee, u.Reason = strings.TrimSpace(u.Assignee), strings.TrimSpace(u.Reason)
	if len(u.Assignee) > 200 || len(u.Reason) > maxText {
		return &UpdateError{"assignee or reason too long"}
	}
	switch u.Status {
	case StatusOpen:
		return &UpdateError{"an alert is opened by raising it: set assigned, dismissed or escalated"}
	case StatusAssigned:
		if u.Assignee == "" {
			return &UpdateError{"assigning needs an assignee"}
		}
	case StatusDismissed:
		if u.Reason == "" {
			return &UpdateError{"dismissing needs a reason (a false positive, known activity ...)"}
		}
	}
	return nil
}

// apply changes a by u at now, by actor; false if nothing changes.
func (u *Update) apply(a *Alert, actor string, now time.Time) bool {
	assignee := a.Assignee
	if u.Assignee != "" {
		assignee = u.Assignee
	}
	if a.Status == u.Status && assignee == a.Assignee && (u.Reason == "" || u.Reason == a.Reason) {
		return false
	}
	a.Status, a.Assignee = u.Status, assignee
	if u.Reason != "" || u.Status == StatusDismissed {
		a.Reason = u.Reason
	}
	a.Updated = now
	a.History = append(a.History, Change{Time: now, Actor: actor, Status: u.Status, Assignee: assignee, Reason: u.Reason})
	if len(a.History) > maxHistory {
		a.History = a.History[len(a.History)-maxHistory:]
	}
	return true
}

// maxHistory bounds the changes an alert keeps; the audit log has all.
const maxHistory = 100

// UnmarshalJSON reads an alert, giving a watch alert's record the chain,
// transactions and time that the alert's own fields hold for it.
func (a *Alert) UnmarshalJSON(b []byte) error {
	type plain Alert
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*a = Alert(p)
	if a.WatchAlert != nil {
		a.WatchAlert.Chain, a.WatchAlert.Txs, a.WatchAlert.Raised = a.Chain, a.Txs, a.Raised
	}
	return nil
}
