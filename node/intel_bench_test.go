package node

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/intel"
	"github.com/tracehound/tracehound/taxii"
)

// BenchmarkIntelIngest100k stores a bundle of 100,000 wallet indicators
// through the TAXII server's add path, rebuilds the intelligence layer of
// the screening index, and then measures look-ups of the flagged
// addresses.
//
//	go test ./node -run '^$' -bench IntelIngest100k -benchtime 1x
func BenchmarkIntelIngest100k(b *testing.B) {
	ctx := context.Background()
	agency := intel.NewIdentity("US agency", "organization")
	listed := make([]intel.Listed, 100_000)
	for i := range listed {
		listed[i] = intel.Listed{Chain: "eth", Address: fmt.Sprintf("0x%040x", 0xa0000000+i)}
	}
	objs, err := intel.Publish(intel.Publication{Creator: agency, Name: "bulk", TLP: intel.TLPGreen, Addresses: listed})
	if err != nil {
		b.Fatal(err)
	}
	var inds []json.RawMessage
	for _, o := range objs {
		if o.ObjectType() == intel.TypeIndicator || o.ObjectType() == intel.TypeReport || o.ObjectType() == intel.TypeMarkingDefinition {
			raw, _ := json.Marshal(o)
			inds = append(inds, raw)
		}
	}
	var store, load time.Duration
	var n *Node
	for b.Loop() {
		b.StopTimer()
		var err error
		n, err = Open(ctx, Config{DataDir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		if err := n.db.PutTAXIICollection(ctx, taxii.Collection{ID: "feed", Title: "feed"}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t0 := time.Now()
		st, err := n.tx.AddObjects(ctx, "feed", inds)
		if err != nil || st.FailureCount > 0 {
			b.Fatalf("%v %d failures", err, st.FailureCount)
		}
		t1 := time.Now()
		if err := n.reloadIntel(ctx); err != nil {
			b.Fatal(err)
		}
		store, load = t1.Sub(t0), time.Since(t1)
		b.StopTimer()
		defer n.Close()
		b.StartTimer()
	}
	b.ReportMetric(store.Seconds(), "s-store")
	b.ReportMetric(load.Seconds(), "s-index")
	// Screening speed with the layer loaded.
	p := n.parser
	addrs := make([]chain.Address, 1000)
	for i := range addrs {
		addrs[i], _ = p.Parse(listed[i*100].Address, chain.Ethereum)
	}
	t0 := time.Now()
	looked := 0
	for time.Since(t0) < time.Second {
		for _, a := range addrs {
			if len(n.index.Lookup(a).Intel) == 0 {
				b.Fatal("not flagged")
			}
			looked++
		}
	}
	b.ReportMetric(float64(looked)/time.Since(t0).Seconds(), "lookups/s")
}
