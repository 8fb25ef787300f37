package screen

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/registry"
	"github.com/tracehound/tracehound/detect"
	"github.com/tracehound/tracehound/detect/exposure"
	"github.com/tracehound/tracehound/intel"
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
	Code    string `json:"code"` // sanctioned, category, intel, exposure
	Rule    string `json:"rule,omitempty"`
	Message string `json:"message"`
}

// InputError says why an input was not screened.
type InputError struct {
	Reason  string `json:"reason"` // chain.Reason* codes: checksum, format, ...
	Message string `json:"message"`
}

// Result is the screening answer for one input.
type Result struct {
	Input   string        `json:"input"`
	Chain   chain.Chain   `json:"chain,omitempty"`
	Network chain.Network `json:"network,omitempty"`
	Address string        `json:"address,omitempty"`
	Risk    Risk          `json:"risk,omitempty"`
	// RiskRule names the policy rule that set Risk: a rule's id, or
	// "none" (no rule matched: low), "fail_closed" (unknown) or
	// "partner_flag" (a partner's own rating).
	RiskRule   string `json:"risk_rule,omitempty"`
	Sanctioned bool   `json:"sanctioned"`
	// Validated is false for an address of a chain without a codec,
	// matched as written: its risk is then Unknown rather than Low.
	Validated    bool          `json:"validated"`
	Sanctions    []Sanction    `json:"sanctions,omitempty"`
	Attributions []Attribution `json:"attributions,omitempty"`
	Intel        []IntelFlag   `json:"intel,omitempty"`
	Reasons      []Reason      `json:"reasons,omitempty"`
	// Exposure is where the address's funds came from and went to, by
	// category, each entry with the rule it met.
	Exposure []exposure.Entry `json:"exposure,omitempty"`
	// Score is the learned scorer's judgement of an address the graph
	// holds, with its top features: on single-address answers, where
	// reading the address's history is affordable.
	Score *detect.AccountScore `json:"score,omitempty"`
	Error *InputError          `json:"error,omitempty"`
}

// Check parses raw and looks it up, without building a Result: the hot
// path for callers that only need the verdict.
//
// Where the index cannot be read, the error is a *FaultError and the risk
// Unknown.
func (x *Index) Check(raw string, hint chain.Chain) (chain.Address, Hit, Risk, error) {
	a, h, r, _, err := x.check(raw, hint, false)
	return a, h, r, err
}

// check is Check with the rule that set the risk, and the exposure
// entries' paths if paths is set.
func (x *Index) check(raw string, hint chain.Chain, paths bool) (chain.Address, Hit, Risk, string, error) {
	if hint != "" {
		// A chain the node does not know is the caller's mistake, never
		// an address kept as written and screened low.
		c, err := registry.Lookup(string(hint))
		if err != nil {
			return chain.Address{}, Hit{}, 0, "", &chain.AddressError{Input: raw, Chain: hint, Reason: ReasonChain, Detail: err.Error()}
		}
		hint = c
	}
	a, err := x.parser.Parse(raw, hint)
	if err != nil {
		if hint != "" || chain.ErrorReason(err) != chain.ReasonUnknown {
			return chain.Address{}, Hit{}, 0, "", err
		}
		var ok bool
		var ferr error
		a, ok, ferr = x.resolveUnknown(strings.TrimSpace(raw))
		if ferr != nil && x.recover(ferr) {
			a, ok, ferr = x.resolveUnknown(strings.TrimSpace(raw))
		}
		if ferr != nil {
			return chain.Address{}, Hit{}, 0, "", &FaultError{Err: ferr}
		}
		if !ok {
			return chain.Address{}, Hit{}, 0, "", err
		}
	}
	h, ferr := x.LookupErr(a)
	if ferr != nil {
		// What could not be read may be what makes it risky: fail closed.
		return a, h, Unknown, RuleFailClosed, &FaultError{Err: ferr}
	}
	if h.Exposure, ferr = x.exposureOf(a, paths); ferr != nil {
		return a, h, Unknown, RuleFailClosed, &FaultError{Err: ferr}
	}
	r, rule := x.risk(a, h)
	return a, h, r, rule, nil
}

// FaultError says the index could not be read (its snapshot failed a
// check and could not be rebuilt): the address's risk is Unknown.
type FaultError struct{ Err error }

func (e *FaultError) Error() string { return "screening index unreadable: " + e.Err.Error() }

func (e *FaultError) Unwrap() error { return e.Err }

// ReasonChain is the error reason of a query naming a chain the node does
// not know.
const ReasonChain = "chain"

// risk is the highest level any fact about the address carries, with the
// rule that set it; it marks each exposure entry with the rule it met.
// Where it would be Low but screening could not check the address (no
// sanctions list loaded, or no codec validated it), it is Unknown.
func (x *Index) risk(a chain.Address, h Hit) (r Risk, rule string) {
	r, rule = Low, RuleNone
	p := x.policy.Load()
	raise := func(to Risk, id string) {
		if to > r {
			r, rule = to, id
		}
	}
	if len(h.Sanctions) > 0 {
		sev, ru := p.rateSelf(tags.Sanctioned, 100)
		raise(sev, ru.ID)
	}
	for i := range h.Attributions {
		if sev, ru := p.rateAttribution(&h.Attributions[i]); ru != nil {
			raise(sev, ru.ID)
		}
	}
	for i := range h.Intel {
		raise(h.Intel[i].Risk, RulePartner)
	}
	for i := range h.Exposure {
		e := &h.Exposure[i]
		if ru := p.rateExposure(a.Chain, e); ru != nil {
			e.Rule = ru.ID
			raise(ru.Severity, ru.ID)
		}
	}
	if r == Low && (!x.SanctionsLoaded() || a.Kind == chain.KindOpaque) {
		r, rule = Unknown, RuleFailClosed
	}
	return r, rule
}

// Screen screens one input and explains the verdict.
func (x *Index) Screen(q Query) Result {
	res := Result{Input: q.Address}
	a, h, r, rule, err := x.check(q.Address, q.Chain, true)
	var fault *FaultError
	if errors.As(err, &fault) {
		res.Chain, res.Network, res.Address = a.Chain, a.Network, a.Value
		res.Risk, res.RiskRule = Unknown, RuleFailClosed
		res.Validated = a.Kind != chain.KindOpaque && a.Value != ""
		res.Reasons = []Reason{{Risk: Unknown, Code: "index_fault",
			Message: "the screening index could not be read, so this address could not be checked: " + fault.Err.Error()}}
		return res
	}
	if err != nil {
		reason := chain.ErrorReason(err)
		if reason == "" {
			reason = chain.ReasonFormat
		}
		res.Error = &InputError{Reason: reason, Message: err.Error()}
		return res
	}
	res.Chain, res.Network, res.Address = a.Chain, a.Network, a.Value
	res.Risk, res.RiskRule = r, rule
	res.Sanctioned = len(h.Sanctions) > 0
	res.Sanctions, res.Attributions, res.Intel, res.Exposure = h.Sanctions, h.Attributions, h.Intel, h.Exposure
	res.Reasons = x.reasons(h)
	res.Validated = a.Kind != chain.KindOpaque
	if !res.Validated {
		res.Reasons = append(res.Reasons, Reason{Risk: Unknown, Code: "not_validated",
			Message: fmt.Sprintf("not validated: tracehound has no codec for %s addresses, so this one was matched as written", a.Chain)})
	}
	if !x.SanctionsLoaded() {
		res.Reasons = append(res.Reasons, Reason{Risk: Unknown, Code: "no_list",
			Message: "no sanctions list is loaded: this node cannot say the address is not sanctioned"})
	}
	return res
}

// reasons explains a hit, one reason per distinct fact, riskiest first.
func (x *Index) reasons(h Hit) []Reason {
	if h.Empty() && len(h.Exposure) == 0 {
		return nil
	}
	p := x.policy.Load()
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
		add(Reason{Risk: Severe, Code: "sanctioned", Rule: p.self[tags.Sanctioned].ID, Message: msg})
	}
	for _, a := range h.Attributions {
		r, ru := p.rateAttribution(&a)
		msg := fmt.Sprintf("attributed to %s (%s", a.Entity, a.Category)
		if a.Abuse != "" && a.Abuse != string(a.Category) {
			msg += ", " + a.Abuse
		}
		msg += fmt.Sprintf(") by %s, confidence %d", a.Source, a.Confidence)
		if a.ConfidenceLevel != "" {
			msg += " (" + a.ConfidenceLevel + ")"
		}
		rs := Reason{Risk: r, Code: "category", Message: msg}
		if ru != nil {
			rs.Rule = ru.ID
		} else {
			rs.Risk = Low
		}
		add(rs)
	}
	for _, f := range h.Intel {
		add(Reason{Risk: f.Risk, Code: "intel", Rule: RulePartner, Message: flagMessage(f)})
	}
	for i := range h.Exposure {
		e := &h.Exposure[i]
		if ru := p.ruleByID(e.Rule); ru != nil && ru.Severity > Low {
			add(Reason{Risk: ru.Severity, Code: "exposure", Rule: ru.ID, Message: exposureMessage(e)})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Risk > out[j].Risk })
	return out
}

// exposureMessage explains an exposure entry: its share, hops and nearest
// source.
func exposureMessage(e *exposure.Entry) string {
	asset := "the native coin"
	if e.Asset != chain.Native {
		asset = "token " + string(e.Asset)
	}
	pct := strconv.FormatFloat(e.Share*100, 'g', 3, 64)
	if e.Direction == exposure.Outgoing {
		return fmt.Sprintf("sent %s%% of what it sent in %s (%s base units) to %s, directly (%s)", pct, asset, e.Amount, e.Category, e.Source)
	}
	how := "directly"
	if e.Hops > 1 {
		how = fmt.Sprintf("%d hops away at the nearest", e.Hops)
	}
	return fmt.Sprintf("received %s%% of what it received in %s (%s base units) from %s sources, %s (%s)", pct, asset, e.Amount, e.Category, how, e.Source)
}

// flagMessage explains a partner's flag.
func flagMessage(f IntelFlag) string {
	msg := "flagged by " + f.Partner
	if f.Report != "" {
		msg += " in report " + f.Report
	}
	if f.Marking != "" {
		msg += ", " + f.Marking
	}
	return msg
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

// Restrict hides from r what a reader cleared up to clearance may not
// read: a partner's flag marked above it (unmarked counts as AMBER) keeps
// its risk, but loses the partner, report and indicator, and its reason
// says only that restricted intelligence from a partner applies. The
// slices r shares with the index are copied, never written.
func (r *Result) Restrict(clearance intel.TLP) {
	var hidden bool
	for i, f := range r.Intel {
		if flagLevel(f) <= clearance {
			continue
		}
		if !hidden {
			r.Intel, hidden = slices.Clone(r.Intel), true
		}
		r.Intel[i] = IntelFlag{Partner: "restricted", Marking: "above your clearance", Category: f.Category, Risk: f.Risk}
	}
	if !hidden {
		return
	}
	reasons := make([]Reason, 0, len(r.Reasons))
	restricted := false
	for _, rs := range r.Reasons {
		if rs.Code != "intel" {
			reasons = append(reasons, rs)
		}
	}
	for _, f := range r.Intel {
		if f.Partner != "restricted" {
			reasons = append(reasons, Reason{Risk: f.Risk, Code: "intel", Message: flagMessage(f)})
		} else if !restricted {
			reasons, restricted = append(reasons, Reason{Risk: f.Risk, Code: "intel",
				Message: "restricted intelligence from a partner applies (marked above this key's clearance)"}), true
		}
	}
	sort.SliceStable(reasons, func(i, j int) bool { return reasons[i].Risk > reasons[j].Risk })
	r.Reasons = reasons
}

// flagLevel is a flag's TLP level; unmarked or unreadable counts as
// AMBER, so that nothing unmarked reaches a key cleared for GREEN.
func flagLevel(f IntelFlag) intel.TLP {
	if l, err := intel.ParseTLP(f.Marking); err == nil {
		return l
	}
	return intel.TLPAmber
}
