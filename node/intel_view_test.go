package node

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/intel"
	"github.com/tracehound/tracehound/screen"
	"github.com/tracehound/tracehound/taxii"
)

// TestIntelViewIncremental writes random intelligence into the node's own
// collection and a peer's inbox (indicators, new and revoked versions,
// reports that come after their indicators and name or stop naming them,
// a marking definition that makes some indicators RED, valid_until
// passing) and keeps the screening index current with update. After
// each step every address must screen as an index
// read whole from the store says.
func TestIntelViewIncremental(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	clock := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	n, err := Open(ctx, Config{DataDir: t.TempDir(), Now: now})
	must(t, err)
	defer n.Close()
	_, err = n.SetIdentity(ctx, "Agency")
	must(t, err)
	must(t, n.PutCollection(ctx, taxii.Collection{ID: "own", CanRead: []string{"partner"}, CanWrite: []string{"partner"}}))
	must(t, n.db.PutTAXIICollection(ctx, taxii.Collection{ID: inboxPrefix + "peer", Title: "from peer"}))
	idx, err := n.Index(ctx)
	must(t, err)

	r := rand.New(rand.NewPCG(3, 4))
	addrs := make([]string, 15)
	for i := range addrs {
		addrs[i] = fmt.Sprintf("0x%040x", 0xfeed00+i)
	}
	ids := map[string][]string{"own": {}, inboxPrefix + "peer": {}}
	reports := map[string][]string{"own": {intel.NewID(intel.TypeReport), intel.NewID(intel.TypeReport)},
		inboxPrefix + "peer": {intel.NewID(intel.TypeReport), intel.NewID(intel.TypeReport)}}
	for range 6 {
		ids["own"] = append(ids["own"], intel.NewID(intel.TypeIndicator))
		ids[inboxPrefix+"peer"] = append(ids[inboxPrefix+"peer"], intel.NewID(intel.TypeIndicator))
	}
	red := &intel.MarkingDefinition{Type: intel.TypeMarkingDefinition, SpecVersion: intel.SpecVersion, ID: intel.NewID(intel.TypeMarkingDefinition),
		Created: intel.NewTimestamp(clock.Add(-time.Hour)), Name: "TLP:RED"}
	add := func(col string, objs ...intel.Object) {
		t.Helper()
		raws := make([]json.RawMessage, len(objs))
		for i, o := range objs {
			raws[i], err = json.Marshal(o)
			must(t, err)
		}
		var st taxii.Status
		if col == "own" {
			st, err = n.tx.AddObjects(ctx, col, raws)
		} else {
			st, err = n.tx.AddObjectsFrom(ctx, col, "peer", raws)
		}
		if err != nil || st.FailureCount > 0 {
			t.Fatalf("add to %s: %v %+v", col, err, st.Failures)
		}
	}
	v := newIntelView(n)
	_, _, err = v.update(ctx)
	must(t, err)
	idx.SetIntel(v.entries())
	version := 0
	for step := range 60 {
		mu.Lock()
		clock = clock.Add(time.Duration(r.IntN(20)) * time.Minute)
		mu.Unlock()
		col := "own"
		if r.IntN(2) == 0 {
			col = inboxPrefix + "peer"
		}
		version++
		at := intel.NewTimestamp(now().Add(-time.Hour + time.Duration(version)*time.Millisecond))
		switch k := r.IntN(10); {
		case k < 6:
			i := r.IntN(len(ids[col]))
			id := ids[col][i]
			ind := &intel.Indicator{Common: intel.Common{Type: intel.TypeIndicator, SpecVersion: intel.SpecVersion, ID: id, Created: intel.NewTimestamp(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)),
				Modified: at, Labels: []string{"chain:eth"}, ObjectMarkingRefs: []string{intel.TLPAmber.MarkingID()}},
				Pattern: "[cryptocurrency-wallet:value = '" + addrs[r.IntN(len(addrs))] + "']", PatternType: "stix", ValidFrom: intel.NewTimestamp(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))}
			switch r.IntN(6) {
			case 0:
				// Revocation is final: the id is not written again.
				ind.Revoked = true
				ids[col][i] = intel.NewID(intel.TypeIndicator)
			case 1:
				ind.ValidUntil = intel.NewTimestamp(now().Add(time.Duration(1+r.IntN(40)) * time.Minute))
			case 2:
				ind.ObjectMarkingRefs = append(ind.ObjectMarkingRefs, red.ID)
			}
			add(col, ind)
		case k < 9:
			var refs []string
			for _, id := range ids[col] {
				if r.IntN(2) == 0 {
					refs = append(refs, id)
				}
			}
			if len(refs) == 0 {
				continue
			}
			rep := &intel.Report{Common: intel.Common{Type: intel.TypeReport, SpecVersion: intel.SpecVersion, ID: reports[col][r.IntN(2)],
				Created: intel.NewTimestamp(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)), Modified: at}, Name: fmt.Sprint("report ", r.IntN(3)), ObjectRefs: refs,
				Published: at, ReportTypes: []string{"indicator"}}
			add(col, rep)
		default:
			// The marking definition that makes what refers to it RED
			// arrives late, in the inbox.
			add(inboxPrefix+"peer", red)
		}
		changes, stale, err := v.update(ctx)
		must(t, err)
		if stale {
			t.Fatal("stale without a deletion")
		}
		// Only the addresses the step touched are changed, as the
		// running node does.
		if !idx.ChangeIntel(changes) {
			t.Fatal("the intel layer could not be changed in place")
		}

		whole := newIntelView(n)
		_, _, err = whole.update(ctx)
		must(t, err)
		want := screen.NewIndex(n.parser, nil)
		want.SetIntel(whole.entries())
		for _, a := range addrs {
			addr := chain.Address{Chain: chain.Ethereum, Value: a}
			if got, w := idx.Lookup(addr).Intel, want.Lookup(addr).Intel; !slices.Equal(got, w) {
				t.Fatalf("step %d: %s flagged %+v, read whole %+v", step, a, got, w)
			}
		}
	}
	if idx.Stats().IntelAddresses == 0 {
		t.Error("nothing was ever flagged")
	}
}
