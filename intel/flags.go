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
	latest := make(map[string]*Indicator)
	reports := make(map[string][]string) // object id -> report names
	for _, o := range objs {
		switch v := o.(type) {
		case *Indicator:
			k := idKey(v.ID)
			if cur, ok := latest[k]; !ok || v.Modified.Time.After(cur.Modified.Time) {
				latest[k] = v
			}
		case *Report:
			for _, ref := range v.ObjectRefs {
				k := idKey(ref)
				if !slices.Contains(reports[k], v.Name) {
					reports[k] = append(reports[k], v.Name)
				}
			}
		}
	}
	markings := MarkingIndex(objs)
	var out []Flag
	for _, ind := range latest {
		if ind.Revoked || ind.PatternType != "stix" {
			continue
		}
		if !ind.ValidUntil.Time.IsZero() && !now.Before(ind.ValidUntil.Time) {
			continue
		}
		addrs, err := WalletAddresses(ind.Pattern)
		if err != nil || len(addrs) == 0 {
			continue
		}
		tlp, marked := ObjectTLP(ind, markings)
		chain := ""
		for _, l := range ind.Labels {
			if c, ok := strings.CutPrefix(l, "chain:"); ok {
				chain = c
			}
		}
		report := ""
		if rs := reports[idKey(ind.ID)]; len(rs) > 0 {
			slices.Sort(rs)
			report = rs[0]
		}
		for _, a := range addrs {
			out = append(out, Flag{Address: a, Chain: chain, Indicator: ind.ID, Report: report, TLP: tlp, Marked: marked,
				Creator: ind.CreatedByRef, Modified: ind.Modified.Time})
		}
	}
	slices.SortFunc(out, func(a, b Flag) int { return strings.Compare(a.Address+a.Indicator, b.Address+b.Indicator) })
	return out
}

// idKey is the form in which WalletFlags compares ids: canonical where
// the id is a STIX id, else as written.
func idKey(id string) string {
	if c, err := CanonicalID(id); err == nil {
		return c
	}
	return id
}
