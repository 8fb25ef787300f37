package screen

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/detect/exposure"
	"github.com/tracehound/tracehound/tags"
)

// A Policy rates what screening finds: what the address itself is (self
// rules, over its sanctions listings and attributions) and where its
// funds came from and went to (exposure rules, by category, direction,
// direct or indirect, and thresholds on share and amount). It is read
// from a YAML file; docs/risk-policy.md describes the format, and the
// default (default-policy.yaml) is one an exchange can start from.
type Policy struct {
	Name string `json:"name"`
	// MinConfidence is the confidence (0-100) below which an attribution
	// raises the risk by no more than Medium: a heuristic guess must not
	// block a withdrawal on its own.
	MinConfidence int `json:"min_confidence"`
	// MaxHops is how far exposure is followed.
	MaxHops int    `json:"max_hops"`
	Rules   []Rule `json:"rules"`

	self map[tags.Category]*Rule
	exp  map[expKey][]*Rule
	byID map[string]*Rule
}

type expKey struct {
	cat tags.Category
	dir exposure.Direction
}

// Rule is one line of a policy.
type Rule struct {
	ID       string        `json:"id"`
	Category tags.Category `json:"category"`
	// Direction is self, incoming or outgoing.
	Direction string `json:"direction"`
	// Hops is direct, indirect or any (exposure rules only).
	Hops string `json:"hops,omitempty"`
	// The share of the address's received (incoming) or sent (outgoing)
	// value in the asset, in [MinShare, MaxShare); MaxShare 0 means no
	// upper bound.
	MinShare float64 `json:"min_share,omitempty"`
	MaxShare float64 `json:"max_share,omitempty"`
	// Amount thresholds, in base units of Asset on Chain, in
	// [MinAmount, MaxAmount); a zero MaxAmount means no upper bound.
	Chain     chain.Chain   `json:"chain,omitempty"`
	Asset     chain.Asset   `json:"asset,omitempty"`
	MinAmount *chain.Amount `json:"min_amount,omitempty"`
	MaxAmount *chain.Amount `json:"max_amount,omitempty"`
	Severity  Risk          `json:"severity"`
	Line      int           `json:"line,omitempty"`
}

// Directions of a rule.
const (
	DirSelf     = "self"
	DirIncoming = string(exposure.Incoming)
	DirOutgoing = string(exposure.Outgoing)
)

// Rule IDs that answer for what no rule of the policy decides.
const (
	// RuleNone: no rule matched; the address is Low.
	RuleNone = "none"
	// RuleFailClosed: screening could not check the address (no list, no
	// codec); it is Unknown.
	RuleFailClosed = "fail_closed"
	// RulePartner: a partner's flag carried its own risk level.
	RulePartner = "partner_flag"
)

//go:embed default-policy.yaml
var defaultPolicy []byte

// DefaultPolicy is the policy an exchange starts from: sanctions and
// terrorist financing severe, direct exposure to sanctioned or stolen
// funds severe, indirect exposure rated by share, counterparties such as
// exchanges and DeFi low.
func DefaultPolicy() *Policy {
	p, err := ParsePolicy(defaultPolicy, "default-policy.yaml")
	if err != nil {
		panic(err) // the embedded file is tested
	}
	return p
}

// DefaultPolicyYAML is the default policy's file, to copy and edit.
func DefaultPolicyYAML() []byte { return slices.Clone(defaultPolicy) }

// LoadPolicy reads a policy file.
func LoadPolicy(path string) (*Policy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	return ParsePolicy(b, path)
}

// PolicyError is a policy file's mistake, with its line.
type PolicyError struct {
	File string
	Line int
	Msg  string
}

func (e *PolicyError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

type policyFile struct {
	Name          string     `yaml:"name"`
	Version       int        `yaml:"version"`
	MinConfidence *int       `yaml:"min_confidence"`
	MaxHops       int        `yaml:"max_hops"`
	Rules         []ruleFile `yaml:"rules"`
}

type ruleFile struct {
	ID        string  `yaml:"id"`
	Category  string  `yaml:"category"`
	Direction string  `yaml:"direction"`
	Hops      string  `yaml:"hops"`
	MinShare  float64 `yaml:"min_share"`
	MaxShare  float64 `yaml:"max_share"`
	Chain     string  `yaml:"chain"`
	Asset     string  `yaml:"asset"`
	MinAmount string  `yaml:"min_amount"`
	MaxAmount string  `yaml:"max_amount"`
	Severity  string  `yaml:"severity"`
}

// PolicyVersion is the policy file format this build reads.
const PolicyVersion = 1

// ParsePolicy reads a policy. It refuses, with the line, an unknown key,
// category, direction or severity, a rule that overlaps another (the same
// category and direction, hops that meet, share and amount ranges that
// meet), and a policy that does not rate a sanctions listing severe.
func ParsePolicy(data []byte, file string) (*Policy, error) {
	var f policyFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, &PolicyError{File: file, Msg: "not a policy: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	// The rules' lines, from a second read as nodes.
	var doc struct {
		Rules []yaml.Node `yaml:"rules"`
	}
	_ = yaml.Unmarshal(data, &doc)
	fail := func(line int, format string, args ...any) error {
		return &PolicyError{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	if f.Version != PolicyVersion {
		return nil, fail(0, "version %d: this build reads policy version %d", f.Version, PolicyVersion)
	}
	p := &Policy{Name: f.Name, MinConfidence: 20, MaxHops: exposure.DefaultMaxHops,
		self: make(map[tags.Category]*Rule), exp: make(map[expKey][]*Rule), byID: make(map[string]*Rule)}
	if f.MinConfidence != nil {
		if *f.MinConfidence < 0 || *f.MinConfidence > 100 {
			return nil, fail(0, "min_confidence %d is not between 0 and 100", *f.MinConfidence)
		}
		p.MinConfidence = *f.MinConfidence
	}
	if f.MaxHops != 0 {
		if f.MaxHops < 1 || f.MaxHops > 16 {
			return nil, fail(0, "max_hops %d is not between 1 and 16", f.MaxHops)
		}
		p.MaxHops = f.MaxHops
	}
	ids := make(map[string]int)
	for i, rf := range f.Rules {
		line := 0
		if i < len(doc.Rules) {
			line = doc.Rules[i].Line
		}
		r, err := parseRule(rf, line)
		if err != nil {
			return nil, fail(line, "%v", err)
		}
		if prev, dup := ids[r.ID]; dup {
			return nil, fail(line, "rule id %q is already used on line %d", r.ID, prev)
		}
		ids[r.ID] = line
		p.Rules = append(p.Rules, r)
	}
	for i := range p.Rules {
		r := &p.Rules[i]
		p.byID[r.ID] = r
		if r.Direction == DirSelf {
			if prev := p.self[r.Category]; prev != nil {
				return nil, fail(r.Line, "rule %s overlaps rule %s (line %d): both rate an address that is %s", r.ID, prev.ID, prev.Line, r.Category)
			}
			p.self[r.Category] = r
			continue
		}
		k := expKey{r.Category, exposure.Direction(r.Direction)}
		for _, prev := range p.exp[k] {
			if overlap(prev, r) {
				return nil, fail(r.Line, "rule %s overlaps rule %s (line %d): an exposure can match both; make their hops, shares or amounts disjoint", r.ID, prev.ID, prev.Line)
			}
		}
		p.exp[k] = append(p.exp[k], r)
	}
	if s := p.self[tags.Sanctioned]; s == nil || s.Severity != Severe {
		return nil, fail(0, "a policy must rate a sanctioned address severe (a self rule for category sanctioned)")
	}
	return p, nil
}

// selfCategories are the categories a self rule may name: tracehound's own
// and the abuse types tags keep as written.
func selfCategory(c tags.Category) bool {
	switch c {
	case tags.Exchange, tags.Mixer, tags.Bridge, tags.DeFi, tags.Scam, tags.Ransomware, tags.Sanctioned, tags.Hack,
		tags.Darknet, tags.Terrorism, tags.Gambling, tags.Miner, tags.Service, tags.Marketplace, tags.PaymentProcessor:
		return true
	}
	return slices.Contains(tags.Abuses, string(c))
}

func parseRule(rf ruleFile, line int) (Rule, error) {
	r := Rule{ID: strings.TrimSpace(rf.ID), Category: tags.ParseCategory(rf.Category), Direction: strings.ToLower(strings.TrimSpace(rf.Direction)),
		Hops: strings.ToLower(strings.TrimSpace(rf.Hops)), MinShare: rf.MinShare, MaxShare: rf.MaxShare, Line: line}
	if r.ID == "" {
		return r, errors.New("a rule needs an id")
	}
	if rf.Severity == "" {
		return r, fmt.Errorf("rule %s: no severity (low, medium, high or severe)", r.ID)
	}
	sev, err := ParseRisk(rf.Severity)
	if err != nil || sev == Unknown {
		return r, fmt.Errorf("rule %s: severity %q is not low, medium, high or severe", r.ID, rf.Severity)
	}
	r.Severity = sev
	switch r.Direction {
	case DirSelf:
		if !selfCategory(r.Category) {
			return r, fmt.Errorf("rule %s: unknown category %q", r.ID, rf.Category)
		}
		if r.Hops != "" || r.MinShare != 0 || r.MaxShare != 0 || rf.MinAmount != "" || rf.MaxAmount != "" || rf.Chain != "" || rf.Asset != "" {
			return r, fmt.Errorf("rule %s: a self rule rates what the address is, and takes no hops, shares or amounts", r.ID)
		}
		return r, nil
	case DirIncoming, DirOutgoing:
	case "":
		return r, fmt.Errorf("rule %s: no direction (self, incoming or outgoing)", r.ID)
	default:
		return r, fmt.Errorf("rule %s: direction %q is not self, incoming or outgoing", r.ID, rf.Direction)
	}
	if exposure.Bit(r.Category) == 0 {
		names := make([]string, len(exposure.Categories))
		for i, c := range exposure.Categories {
			names[i] = string(c)
		}
		return r, fmt.Errorf("rule %s: unknown exposure category %q (one of %s)", r.ID, rf.Category, strings.Join(names, ", "))
	}
	switch r.Hops {
	case "":
		r.Hops = exposure.AnyHops
	case exposure.DirectOnly, exposure.IndirectOnly, exposure.AnyHops:
	default:
		return r, fmt.Errorf("rule %s: hops %q is not direct, indirect or any", r.ID, rf.Hops)
	}
	if r.Direction == DirOutgoing && r.Hops == exposure.IndirectOnly {
		return r, fmt.Errorf("rule %s: outgoing exposure is measured direct only", r.ID)
	}
	if r.MinShare < 0 || r.MinShare > 1 || r.MaxShare < 0 || r.MaxShare > 1 {
		return r, fmt.Errorf("rule %s: shares are between 0 and 1", r.ID)
	}
	if r.MaxShare != 0 && r.MaxShare <= r.MinShare {
		return r, fmt.Errorf("rule %s: max_share %v is not above min_share %v", r.ID, r.MaxShare, r.MinShare)
	}
	if rf.MinAmount != "" || rf.MaxAmount != "" {
		if rf.Chain == "" {
			return r, fmt.Errorf("rule %s: an amount threshold needs its chain (and asset, if not the native coin): amounts are base units of one asset", r.ID)
		}
		if r.Chain = chain.ParseChain(rf.Chain); r.Chain == "" {
			return r, fmt.Errorf("rule %s: unknown chain %q", r.ID, rf.Chain)
		}
		if a := strings.TrimSpace(rf.Asset); a != "" && !strings.EqualFold(a, "native") {
			r.Asset = chain.Asset(strings.ToLower(a))
		}
		for _, x := range []struct {
			s   string
			dst **chain.Amount
		}{{rf.MinAmount, &r.MinAmount}, {rf.MaxAmount, &r.MaxAmount}} {
			if x.s == "" {
				continue
			}
			v, err := chain.ParseAmount(x.s)
			if err != nil {
				return r, fmt.Errorf("rule %s: amount %q is not an integer in base units", r.ID, x.s)
			}
			*x.dst = &v
		}
		if r.MinAmount != nil && r.MaxAmount != nil && r.MaxAmount.Cmp(*r.MinAmount) <= 0 {
			return r, fmt.Errorf("rule %s: max_amount is not above min_amount", r.ID)
		}
	} else if rf.Chain != "" || rf.Asset != "" {
		return r, fmt.Errorf("rule %s: chain and asset go with min_amount or max_amount", r.ID)
	}
	return r, nil
}

// overlap reports whether one exposure could match both rules, which have
// the same category and direction.
func overlap(a, b *Rule) bool {
	if a.Hops != b.Hops && a.Hops != exposure.AnyHops && b.Hops != exposure.AnyHops {
		return false
	}
	hiA, hiB := a.MaxShare, b.MaxShare
	if hiA == 0 {
		hiA = 2
	}
	if hiB == 0 {
		hiB = 2
	}
	if a.MinShare >= hiB || b.MinShare >= hiA {
		return false
	}
	aAmt, bAmt := a.Chain != "", b.Chain != ""
	if aAmt && bAmt {
		if a.Chain != b.Chain || a.Asset != b.Asset {
			return false
		}
		if a.MaxAmount != nil && b.MinAmount != nil && b.MinAmount.Cmp(*a.MaxAmount) >= 0 {
			return false
		}
		if b.MaxAmount != nil && a.MinAmount != nil && a.MinAmount.Cmp(*b.MaxAmount) >= 0 {
			return false
		}
	}
	return true
}

// matches reports whether the exposure entry e of an address on chain c
// meets the rule.
func (r *Rule) matches(c chain.Chain, e *exposure.Entry) bool {
	if r.Chain != "" && (r.Chain != c || r.Asset != e.Asset) {
		return false
	}
	amt, share := e.Part(r.Hops)
	if amt.IsZero() {
		return false
	}
	if share < r.MinShare || (r.MaxShare != 0 && share >= r.MaxShare) {
		return false
	}
	if r.MinAmount != nil && amt.Cmp(*r.MinAmount) < 0 {
		return false
	}
	if r.MaxAmount != nil && amt.Cmp(*r.MaxAmount) >= 0 {
		return false
	}
	return true
}

// rateExposure rates one exposure entry: the severest rule it meets, or
// nil.
func (p *Policy) rateExposure(c chain.Chain, e *exposure.Entry) *Rule {
	var best *Rule
	for _, r := range p.exp[expKey{tags.ParseCategory(string(e.Category)), e.Direction}] {
		if (best == nil || r.Severity > best.Severity) && r.matches(c, e) {
			best = r
		}
	}
	return best
}

// rateSelf rates an attribution of the address to category with the
// given confidence: the self rule's severity, held to Medium below the
// policy's minimum confidence; nil if no rule names the category.
func (p *Policy) rateSelf(category tags.Category, confidence int) (Risk, *Rule) {
	r := p.self[tags.ParseCategory(string(category))]
	if r == nil {
		return 0, nil
	}
	sev := r.Severity
	if sev > Medium && confidence < p.MinConfidence {
		sev = Medium
	}
	return sev, r
}

// rateAttribution rates an attribution by its category and, failing
// that, its abuse type as written and as tracehound's category.
func (p *Policy) rateAttribution(a *Attribution) (Risk, *Rule) {
	best, rule := p.rateSelf(a.Category, a.Confidence)
	if a.Abuse != "" {
		r, ru := p.rateSelf(tags.Category(a.Abuse), a.Confidence)
		if ru == nil {
			r, ru = p.rateSelf(tags.AbuseCategory(a.Abuse), a.Confidence)
		}
		if ru != nil && (rule == nil || r > best) {
			best, rule = r, ru
		}
	}
	return best, rule
}

// ruleByID finds a rule; nil for none.
func (p *Policy) ruleByID(id string) *Rule { return p.byID[id] }
