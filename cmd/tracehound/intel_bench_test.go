package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/intel"
	"github.com/tracehound/tracehound/store/pebble"
	"github.com/tracehound/tracehound/taxii"
)

// BenchmarkPublishToFlag measures, on three nodes on loopback polling
// every 250 ms, the time from an agency's publication of a new address to
// both exchanges flagging it.
//
//	go test ./cmd/tracehound -run '^$' -bench PublishToFlag -benchtime 40x
func BenchmarkPublishToFlag(b *testing.B) {
	us, jp, kr := newNode(b, "us"), newNode(b, "jp"), newNode(b, "kr")
	jpKey := us.key(b, "jp-exchange", "taxii:read")
	krKey := us.key(b, "kr-exchange", "taxii:read")
	analyst := us.key(b, "us-analyst", "taxii:write")
	us.cli(b, "intel", "collection", "add", "feed", "--read", "jp-exchange,kr-exchange", "--write", "us-analyst")
	jp.key(b, "screen", "screen")
	kr.key(b, "screen", "screen")
	jp.cli(b, "intel", "peer", "add", "us", us.url, "--collection", "feed", "--key", jpKey)
	kr.cli(b, "intel", "peer", "add", "us", us.url, "--collection", "feed", "--key", krKey)
	ctx, cancel := context.WithCancel(context.Background())
	for _, n := range []*node{us, jp, kr} {
		n.start(ctx, b)
	}
	defer func() {
		cancel()
		for _, n := range []*node{us, jp, kr} {
			<-n.done
		}
	}()
	c := taxii.NewClient(us.url, taxii.DefaultAPIRoot, analyst, nil)
	agency := intel.NewIdentity("US agency", "organization")
	var lat []time.Duration
	i := 0
	for b.Loop() {
		i++
		addr := fmt.Sprintf("0x%040x", 0xbeef0000+i)
		objs, err := intel.Publish(intel.Publication{Creator: agency, Name: fmt.Sprintf("alert %d", i), TLP: intel.TLPAmber, Addresses: []intel.Listed{{Chain: "eth", Address: addr}}})
		if err != nil {
			b.Fatal(err)
		}
		raws := make([]json.RawMessage, len(objs))
		for k, o := range objs {
			raws[k], _ = json.Marshal(o)
		}
		start := time.Now()
		if _, err := c.Add(ctx, "feed", raws); err != nil {
			b.Fatal(err)
		}
		for _, n := range []*node{jp, kr} {
			for {
				if f, _ := n.flagged(b, addr); f {
					break
				}
				if time.Since(start) > 10*time.Second {
					b.Fatalf("%s never flagged %s", n.name, addr)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50-ms")
	b.ReportMetric(float64(lat[(len(lat)*99)/100].Milliseconds()), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Milliseconds()), "max-ms")
}

// BenchmarkIntelIngest100k stores a bundle of 100,000 wallet indicators
// through the TAXII server's add path, rebuilds the intelligence layer of
// the screening index, and then measures look-ups of the flagged
// addresses.
//
//	go test ./cmd/tracehound -run '^$' -bench IntelIngest100k -benchtime 1x
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
	var svc *service
	for b.Loop() {
		b.StopTimer()
		db, err := pebble.Open(ctx, b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		svc, err = newService(ctx, db, slog.New(slog.DiscardHandler))
		if err != nil {
			b.Fatal(err)
		}
		if err := db.PutTAXIICollection(ctx, taxii.Collection{ID: "feed", Title: "feed"}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t0 := time.Now()
		st, err := svc.newTAXII().AddObjects(ctx, "feed", inds)
		if err != nil || st.FailureCount > 0 {
			b.Fatalf("%v %d failures", err, st.FailureCount)
		}
		t1 := time.Now()
		if err := svc.reloadIntel(ctx); err != nil {
			b.Fatal(err)
		}
		store, load = t1.Sub(t0), time.Since(t1)
		b.StopTimer()
		defer db.Close()
		b.StartTimer()
	}
	b.ReportMetric(store.Seconds(), "s-store")
	b.ReportMetric(load.Seconds(), "s-index")
	// Screening speed with the layer loaded.
	p := newAddressParser()
	addrs := make([]chain.Address, 1000)
	for i := range addrs {
		addrs[i], _ = p.Parse(listed[i*100].Address, chain.Ethereum)
	}
	t0 := time.Now()
	n := 0
	for time.Since(t0) < time.Second {
		for _, a := range addrs {
			if len(svc.index.Lookup(a).Intel) == 0 {
				b.Fatal("not flagged")
			}
			n++
		}
	}
	b.ReportMetric(float64(n)/time.Since(t0).Seconds(), "lookups/s")
}
