package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tracehound/tracehound/intel"
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
	for _, n := range []*xnode{us, jp, kr} {
		n.start(ctx, b)
	}
	defer func() {
		cancel()
		for _, n := range []*xnode{us, jp, kr} {
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
		for _, n := range []*xnode{jp, kr} {
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
