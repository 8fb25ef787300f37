package intel

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestFlagSetIncremental feeds random histories (indicator versions,
// revocations, expiries, report versions that name and stop naming
// indicators, ids in either case) to a FlagSet in random chunks and
// orders, and checks after each chunk that the flags of every indicator
// equal those of a set given every object so far at once, and that an
// indicator whose flags changed was among those Add returned.
func TestFlagSetIncremental(t *testing.T) {
	now := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	markings := MarkingIndex([]Object{TLPAmber.Marking()})
	for seed := range uint64(30) {
		r := rand.New(rand.NewPCG(seed, 7))
		ids := make([]string, 12)
		for i := range ids {
			ids[i] = NewID(TypeIndicator)
		}
		reports := []string{NewID(TypeReport), NewID(TypeReport)}
		var objs []Object
		for range 80 {
			at := now.Add(-time.Duration(r.IntN(100)) * time.Hour)
			if r.IntN(4) == 0 {
				refs := []string{}
				for _, id := range ids {
					if r.IntN(3) == 0 {
						refs = append(refs, id)
					}
				}
				rep := &Report{Common: Common{Type: TypeReport, SpecVersion: SpecVersion, ID: reports[r.IntN(2)], Created: NewTimestamp(now.Add(-1000 * time.Hour)), Modified: NewTimestamp(at)},
					Name: fmt.Sprintf("report %c", 'a'+r.IntN(5)), ObjectRefs: refs}
				objs = append(objs, rep)
				continue
			}
			id := ids[r.IntN(len(ids))]
			if r.IntN(5) == 0 {
				id = TypeIndicator + "--" + strings.ToUpper(id[len(TypeIndicator)+2:])
			}
			ind := &Indicator{Common: Common{Type: TypeIndicator, SpecVersion: SpecVersion, ID: id, Created: NewTimestamp(now.Add(-1000 * time.Hour)), Modified: NewTimestamp(at),
				Revoked: r.IntN(6) == 0, Labels: []string{"chain:eth"}, ObjectMarkingRefs: []string{TLPAmber.MarkingID()}},
				Pattern: fmt.Sprintf("[cryptocurrency-wallet:value = '0x%02d']", r.IntN(6)), PatternType: "stix"}
			if r.IntN(6) == 0 {
				ind.ValidUntil = NewTimestamp(now.Add(time.Duration(r.IntN(3)-1) * time.Hour))
			}
			objs = append(objs, ind)
		}
		r.Shuffle(len(objs), func(i, j int) { objs[i], objs[j] = objs[j], objs[i] })

		var inc FlagSet
		for done := 0; done < len(objs); {
			n := min(1+r.IntN(10), len(objs)-done)
			before := map[string][]Flag{}
			for _, id := range inc.Indicators() {
				before[id] = inc.Flags(id, now, markings)
			}
			changed := inc.Add(objs[done : done+n])
			done += n
			var whole FlagSet
			whole.Add(objs[:done])
			if !slices.Equal(inc.Indicators(), whole.Indicators()) {
				t.Fatalf("seed %d: indicators %v, want %v", seed, inc.Indicators(), whole.Indicators())
			}
			for _, id := range whole.Indicators() {
				got, want := inc.Flags(id, now, markings), whole.Flags(id, now, markings)
				if !slices.Equal(got, want) {
					t.Fatalf("seed %d after %d objects: %s flags %+v, want %+v", seed, done, id, got, want)
				}
				if !slices.Equal(before[id], got) && !slices.Contains(changed, id) {
					t.Fatalf("seed %d: %s changed (%+v -> %+v) but was not reported", seed, id, before[id], got)
				}
			}
		}
	}
}

// TestFlagSetReportName: a newer version of a report that no longer
// names an indicator takes its name off the indicator's flag.
func TestFlagSetReportName(t *testing.T) {
	now := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	ind := &Indicator{Common: newCommon(TypeIndicator, now), Pattern: "[cryptocurrency-wallet:value = '0xab']", PatternType: "stix"}
	rep := &Report{Common: newCommon(TypeReport, now), Name: "Theft", ObjectRefs: []string{ind.ID}}
	var s FlagSet
	s.Add([]Object{ind, rep})
	if f := s.Flags(idKey(ind.ID), now, nil); len(f) != 1 || f[0].Report != "Theft" || f[0].Address != "0xab" {
		t.Fatalf("flags %+v", f)
	}
	v2 := *rep
	v2.Modified = NewTimestamp(now.Add(time.Minute))
	v2.ObjectRefs = []string{NewID(TypeIndicator)}
	if changed := s.Add([]Object{&v2}); !slices.Contains(changed, idKey(ind.ID)) {
		t.Errorf("changed %v", changed)
	}
	if f := s.Flags(idKey(ind.ID), now, nil); len(f) != 1 || f[0].Report != "" {
		t.Fatalf("flags after the report dropped it: %+v", f)
	}
	// The older version again changes nothing.
	if changed := s.Add([]Object{rep}); len(changed) != 0 {
		t.Errorf("an older report version changed %v", changed)
	}
}
