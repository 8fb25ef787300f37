package intel

import (
	"slices"
	"strings"
	"time"
)

// Flag is one wallet address that current, unrevoked intelligence names,
// with where it comes from.
type Flag struct {
	Address   string
	Chain     string // from a "chain:..." label, if the publisher gave one
	Indicator string // the indicator's id
	Report    string // the name of a report holding the indicator
	TLP       TLP
	Marked    bool
	Creator   string // created_by_ref
	Modified  time.Time
}

// WalletFlags reads the wallet addresses that a set of objects flags: the
// newest version of each indicator, unless it is revoked or expired at
// now, whose pattern names cryptocurrency wallets. Older versions and
// revoked indicators flag nothing: a revocation withdraws the flag.
// Versions and report references name an indicator by its STIX id, the
// UUID in any case: a revocation sent under the upper-case id withdraws
// the flag of the lower-case one.
func WalletFlags(objs []Object, now time.Time) []Flag {
	var s FlagSet
	s.Add(objs)
	markings := MarkingIndex(objs)
	var out []Flag
	for _, id := range s.Indicators() {
		out = append(out, s.Flags(id, now, markings)...)
	}
	slices.SortFunc(out, func(a, b Flag) int { return strings.Compare(a.Address+a.Indicator, b.Address+b.Indicator) })
	return out
}

// FlagSet keeps what WalletFlags reads current as objects arrive: the
// newest version of each indicator, and the reports naming it (the
// newest version of each report). Objects may come in any order and more
// than once; Flags then answers as WalletFlags would over all of them.
// Marking definitions are the caller's to keep (MarkingIndex), since
// they apply across sets. The zero value is empty and ready; a FlagSet is
// not safe for concurrent use.
type FlagSet struct {
	inds    map[string]*Indicator // newest version, by idKey
	reports map[string]*Report    // newest version, by idKey
	// holders are the reports naming each indicator: indicator idKey ->
	// report idKey -> the report's name.
	holders map[string]map[string]string
}

// Add takes objects in and returns the ids (as Flags takes them) of the
// indicators whose flags may have changed: new or newer versions, and the
// indicators a new or newer report version names or no longer names.
// Objects other than indicators and reports are ignored.
func (s *FlagSet) Add(objs []Object) (changed []string) {
	if s.inds == nil {
		s.inds, s.reports, s.holders = map[string]*Indicator{}, map[string]*Report{}, map[string]map[string]string{}
	}
	seen := map[string]bool{}
	note := func(k string) {
		if !seen[k] {
			seen[k] = true
			changed = append(changed, k)
		}
	}
	for _, o := range objs {
		switch v := o.(type) {
		case *Indicator:
			k := idKey(v.ID)
			if cur, ok := s.inds[k]; !ok || v.Modified.Time.After(cur.Modified.Time) {
				s.inds[k] = v
				note(k)
			}
		case *Report:
			k := idKey(v.ID)
			cur, ok := s.reports[k]
			if ok && !v.Modified.Time.After(cur.Modified.Time) {
				continue
			}
			s.reports[k] = v
			if ok {
				for _, ref := range cur.ObjectRefs {
					rk := idKey(ref)
					if h := s.holders[rk]; h != nil {
						delete(h, k)
						if len(h) == 0 {
							delete(s.holders, rk)
						}
					}
					note(rk)
				}
			}
			for _, ref := range v.ObjectRefs {
				rk := idKey(ref)
				if !strings.HasPrefix(rk, TypeIndicator+"--") {
					continue
				}
				h := s.holders[rk]
				if h == nil {
					h = map[string]string{}
					s.holders[rk] = h
				}
				h[k] = v.Name
				note(rk)
			}
		}
	}
	return changed
}

// Indicators lists the ids of the indicators held, as Flags takes them.
func (s *FlagSet) Indicators() []string {
	out := make([]string, 0, len(s.inds))
	for k := range s.inds {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Flags returns the wallet flags of the newest version of an indicator
// (by an id Add or Indicators returned) at now, its TLP read with
// markings: none if there is no such indicator, or it is revoked, or
// expired at now, or its pattern names no wallet.
func (s *FlagSet) Flags(id string, now time.Time, markings map[string]*MarkingDefinition) []Flag {
	ind := s.inds[id]
	if ind == nil || ind.Revoked || ind.PatternType != "stix" {
		return nil
	}
	if !ind.ValidUntil.Time.IsZero() && !now.Before(ind.ValidUntil.Time) {
		return nil
	}
	addrs, err := WalletAddresses(ind.Pattern)
	if err != nil || len(addrs) == 0 {
		return nil
	}
	tlp, marked := ObjectTLP(ind, markings)
	chain := ""
	for _, l := range ind.Labels {
		if c, ok := strings.CutPrefix(l, "chain:"); ok {
			chain = c
		}
	}
	// The first report name in order, whichever report came first.
	report := ""
	for _, name := range s.holders[id] {
		if report == "" || name < report {
			report = name
		}
	}
	out := make([]Flag, 0, len(addrs))
	for _, a := range addrs {
		out = append(out, Flag{Address: a, Chain: chain, Indicator: ind.ID, Report: report, TLP: tlp, Marked: marked,
			Creator: ind.CreatedByRef, Modified: ind.Modified.Time})
	}
	return out
}

// Expires returns when the newest version of an indicator stops flagging
// by its valid_until, and false if it does not.
func (s *FlagSet) Expires(id string) (time.Time, bool) {
	ind := s.inds[id]
	if ind == nil || ind.ValidUntil.Time.IsZero() {
		return time.Time{}, false
	}
	return ind.ValidUntil.Time, true
}

// idKey is the form in which WalletFlags compares ids: canonical where
// the id is a STIX id, else as written.
func idKey(id string) string {
	if c, err := CanonicalID(id); err == nil {
		return c
	}
	return id
}
