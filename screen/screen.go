package screen

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/tags"
)

// Query is one address to screen; Chain is optional.
type Query struct {
	Address string      `json:"address"`
	Chain   chain.Chain `json:"chain,omitempty"`
}

// Reason explains one contribution to a risk level.
type Reason struct {
	Risk    Risk   `json:"risk"`
	Code    string `json:"code"` // sanctioned, category, intel
	Message string `json:"message"`
}

// InputError says why an input was not screened.
type InputError struct {
	Reason  string `json:"reason"` // chain.Reason* codes: checksum, format, ...
	Message string `json:"message"`
}

// Exposure is the address's indirect exposure to risky entities through
// the transfer graph, by category and hop count, as wallet screening
// reports it. It is present only where the graph has been ingested.
type Exposure struct {
	Direct   []CategoryExposure `json:"direct"`
	Indirect []CategoryExposure `json:"indirect"`
}

// CategoryExposure is value received from (or sent to) one category.
type CategoryExposure struct {
	Category string       `json:"category"`
	Hops     int          `json:"hops"`
	Asset    string       `json:"asset"`
	Amount   chain.Amount `json:"amount"`
}

// Result is the screening answer for one input.
type Result struct {
	Input        string        `json:"input"`
	Chain        chain.Chain   `json:"chain,omitempty"`
	Network      chain.Network `json:"network,omitempty"`
	Address      string        `json:"address,omitempty"`
	Risk         Risk          `json:"risk,omitempty"`
	Sanctioned   bool          `json:"sanctioned"`
	Sanctions    []Sanction    `json:"sanctions,omitempty"`
	Attributions []Attribution `json:"attributions,omitempty"`
	Intel        []IntelFlag   `json:"intel,omitempty"`
	Reasons      []Reason      `json:"reasons,omitempty"`
	Exposure     *Exposure     `json:"exposure,omitempty"`
	Error        *InputError   `json:"error,omitempty"`
}

// Check parses raw and looks it up, without building a Result: the hot
// path for callers that only need the verdict.
func (x *Index) Check(raw string, hint chain.Chain) (chain.Address, Hit, Risk, error) {
	a, err := x.parser.Parse(raw, hint)
	if err != nil {
		if hint != "" || chain.ErrorReason(err) != chain.ReasonUnknown {
			return chain.Address{}, Hit{}, 0, err
		}
		var ok bool
		if a, ok = x.resolveUnknown(strings.TrimSpace(raw)); !ok {
			return chain.Address{}, Hit{}, 0, err
		}
	}
	h := x.Lookup(a)
	return a, h, x.risk(h), nil
}

// risk is the highest level any fact about the address carries.
func (x *Index) risk(h Hit) Risk {
	r := Low
	if len(h.Sanctions) > 0 {
		return Severe
	}
	for i := range h.Attributions {
		at := &h.Attributions[i]
		r = max(r, x.policy.categoryRisk(at.Category, at.Confidence), x.policy.categoryRisk(tags.Category(at.Abuse), at.Confidence))
	}
	for i := range h.Intel {
		r = max(r, h.Intel[i].Risk)
	}
	return r
}

// Screen screens one input and explains the verdict.
func (x *Index) Screen(q Query) Result {
	res := Result{Input: q.Address}
	a, h, r, err := x.Check(q.Address, q.Chain)
	if err != nil {
		reason := chain.ErrorReason(err)
		if reason == "" {
			reason = chain.ReasonFormat
		}
		res.Error = &InputError{Reason: reason, Message: err.Error()}
		return res
	}
	res.Chain, res.Network, res.Address, res.Risk = a.Chain, a.Network, a.Value, r
	res.Sanctioned = len(h.Sanctions) > 0
	res.Sanctions, res.Attributions, res.Intel = h.Sanctions, h.Attributions, h.Intel
	res.Reasons = x.reasons(h)
	return res
}

// reasons explains a hit, one reason per distinct fact, riskiest first.
func (x *Index) reasons(h Hit) []Reason {
	if h.Empty() {
		return nil
	}
	var out []Reason
	seen := make(map[string]bool)
	add := func(r Reason) {
		if !seen[r.Message] {
			seen[r.Message] = true
			out = append(out, r)
		}
	}
	for _, s := range h.Sanctions {
		msg := fmt.Sprintf("listed on %s as %s address of %s", s.Source, s.Asset, s.Party)
		if len(s.Programs) > 0 {
			msg += " (" + strings.Join(s.Programs, ", ") + ")"
		}
		if !s.ListDate.IsZero() {
			msg += ", list of " + s.ListDate.Format("2006-01-02")
		}
		add(Reason{Risk: Severe, Code: "sanctioned", Message: msg})
	}
	for _, a := range h.Attributions {
		r := max(x.policy.categoryRisk(a.Category, a.Confidence), x.policy.categoryRisk(tags.Category(a.Abuse), a.Confidence))
		msg := fmt.Sprintf("attributed to %s (%s", a.Entity, a.Category)
		if a.Abuse != "" && a.Abuse != string(a.Category) {
			msg += ", " + a.Abuse
		}
		msg += fmt.Sprintf(") by %s, confidence %d", a.Source, a.Confidence)
		if a.ConfidenceLevel != "" {
			msg += " (" + a.ConfidenceLevel + ")"
		}
		add(Reason{Risk: r, Code: "category", Message: msg})
	}
	for _, f := range h.Intel {
		msg := "flagged by " + f.Partner
		if f.Report != "" {
			msg += " in report " + f.Report
		}
		if f.Marking != "" {
			msg += ", " + f.Marking
		}
		add(Reason{Risk: f.Risk, Code: "intel", Message: msg})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Risk > out[j].Risk })
	return out
}

// parallelMin is the batch size above which a batch is split across cores.
const parallelMin = 2048

// ScreenBatch screens many inputs, in order, using every core for large
// batches.
func (x *Index) ScreenBatch(ctx context.Context, qs []Query) ([]Result, error) {
	out := make([]Result, len(qs))
	workers := runtime.GOMAXPROCS(0)
	if len(qs) < parallelMin || workers < 2 {
		for i, q := range qs {
			if i%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
			out[i] = x.Screen(q)
		}
		return out, nil
	}
	chunk := (len(qs) + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < len(qs); lo += chunk {
		hi := min(lo+chunk, len(qs))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				if i%4096 == 0 && ctx.Err() != nil {
					return
				}
				out[i] = x.Screen(qs[i])
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
