package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/intel"
	"github.com/tracehound/tracehound/node"
	"github.com/tracehound/tracehound/nodetest"
	"github.com/tracehound/tracehound/screen"
	"github.com/tracehound/tracehound/taxii"
)

// sharingPair is a publishing node and a partner node polling it, both
// serving on loopback in this process.
type sharingPair struct {
	pub, partner *node.Node
	idx          *screen.Index // the partner's screening index
	stop         func()
}

// startSharingPair opens two nodes in fresh directories: the publisher
// with an identity and a collection the partner may read, the partner
// pulling it every poll.
func startSharingPair(b *testing.B, poll time.Duration) *sharingPair {
	b.Helper()
	ctx := node.AsActor(context.Background(), "bench")
	pub, err := node.Open(ctx, node.Config{DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	partner, err := node.Open(ctx, node.Config{DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := pub.SetIdentity(ctx, "US agency"); err != nil {
		b.Fatal(err)
	}
	if err := pub.PutCollection(ctx, taxii.Collection{ID: "feed", Title: "feed", CanRead: []string{"exchange"}}); err != nil {
		b.Fatal(err)
	}
	_, secret, err := pub.CreateKey(ctx, "exchange", []auth.Role{auth.RoleTAXIIRead}, intel.TLPAmber)
	if err != nil {
		b.Fatal(err)
	}
	port, err := nodetest.FreePort()
	if err != nil {
		b.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	if err := partner.AddPeer(ctx, node.PeerSpec{Name: "us", URL: "http://" + addr, Collection: "feed", Key: secret}); err != nil {
		b.Fatal(err)
	}
	idx, err := partner.Index(ctx)
	if err != nil {
		b.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 2)
	serve := func(n *node.Node, addr string) {
		ready := make(chan struct{})
		go func() {
			done <- n.Serve(sctx, node.ServeConfig{Addr: addr, Poll: poll, Ready: func(string) { close(ready) }})
		}()
		select {
		case <-ready:
		case err := <-done:
			b.Fatal(err)
		}
	}
	serve(pub, addr)
	serve(partner, "127.0.0.1:0")
	p := &sharingPair{pub: pub, partner: partner, idx: idx}
	p.stop = func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				b.Error(err)
			}
		}
		pub.Close()
		partner.Close()
	}
	return p
}

// BenchmarkPublishReport publishes one TLP:AMBER report of N laundering
// addresses (each an indicator with its wallet, related to the incident
// and indicating the intrusion set: four objects an address) at a node,
// and measures the time until a partner polling every 250 ms flags every
// one of them in its screening index (s-to-flag), and the publication
// alone (s-publish), the anchor. s-after-publish is the part of
// s-to-flag after Publish returned: the partner's poll wait, the transfer,
// its store and index. cpu-s is the CPU time both nodes spent on the
// round, which a busy machine does not inflate as it does wall time.
//
//	go test ./bench -run '^$' -bench 'PublishReport/(10000|100000)$' -benchtime 3x
func BenchmarkPublishReport(b *testing.B) {
	for _, n := range []int{5_232, 10_000, 30_000, 100_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) { benchPublishReport(b, n) })
	}
}

func benchPublishReport(b *testing.B, size int) {
	p := startSharingPair(b, 250*time.Millisecond)
	defer p.stop()
	ctx := node.AsActor(context.Background(), "bench")
	var publish, flag, worst, cpu time.Duration
	round := 0
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		b.Logf("load average at start: %s", strings.TrimSpace(string(la)))
	}
	for b.Loop() {
		round++
		listed := make([]intel.Listed, size)
		addrs := make([]chain.Address, size)
		for i := range listed {
			a := fmt.Sprintf("0x%08x%032x", round, i)
			listed[i] = intel.Listed{Chain: "eth", Address: a, Role: intel.RoleLaundering}
			addrs[i] = chain.Address{Chain: chain.Ethereum, Value: strings.ToLower(a)}
		}
		cpu0 := cpuTime()
		start := time.Now()
		st, err := p.pub.Publish(ctx, node.Publication{Collection: "feed", Name: fmt.Sprintf("report %d", round), TLP: intel.TLPAmber,
			Actor: "Lazarus Group", Incident: fmt.Sprintf("theft %d", round), Addresses: listed})
		if err != nil || st.FailureCount > 0 {
			b.Fatalf("publish: %v, %d failures", err, st.FailureCount)
		}
		published := time.Since(start)
		// The last address is checked first: the others then need one
		// look-up each.
		for i := len(addrs) - 1; i >= 0; {
			if len(p.idx.Lookup(addrs[i]).Intel) > 0 {
				i--
				continue
			}
			if time.Since(start) > 10*time.Minute {
				b.Fatalf("%d of %d addresses not flagged after 10 minutes", i+1, size)
			}
			time.Sleep(time.Millisecond)
		}
		took := time.Since(start)
		cpu += cpuTime() - cpu0
		b.Logf("round %d: published in %s, all %d flagged at the partner %s after the start", round, published, size, took)
		publish += published
		flag += took
		worst = max(worst, took)
	}
	b.ReportMetric(publish.Seconds()/float64(round), "s-publish")
	b.ReportMetric(flag.Seconds()/float64(round), "s-to-flag")
	b.ReportMetric(worst.Seconds(), "s-to-flag-max")
	b.ReportMetric((flag-publish).Seconds()/float64(round), "s-after-publish")
	b.ReportMetric(cpu.Seconds()/float64(round), "cpu-s")
}
