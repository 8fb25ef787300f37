package node

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/watch"
)

// TestServeAlertRetention runs a server's alert pruner against a clock
// the test moves: alerts leave as they age past --alert-retention, a
// watch keeps at most --alert-limit, and nothing waits for real time.
func TestServeAlertRetention(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t0 := time.Date(2025, 2, 21, 14, 0, 0, 0, time.UTC)
	var clock atomic.Int64
	clock.Store(t0.Add(90 * time.Minute).UnixNano())
	n, err := Open(ctx, Config{DataDir: t.TempDir(), Now: func() time.Time { return time.Unix(0, clock.Load()) }})
	must(t, err)
	defer n.Close()
	db := n.db
	raise := func(name string, at time.Time, addrs ...string) {
		t.Helper()
		var alerts []watch.Alert
		for _, a := range addrs {
			alerts = append(alerts, watch.Alert{Watch: name, Chain: chain.Ethereum, Address: a, Raised: at})
		}
		must(t, db.SaveCheck(ctx, watch.Watch{Name: name, Chain: chain.Ethereum}, alerts))
	}
	raise("theft", t0, "0xd1")
	raise("theft", t0.Add(time.Hour), "0xd2")
	raise("theft", t0.Add(2*time.Hour), "0xd3", "0xd4", "0xd5")
	raise("hack", t0.Add(2*time.Hour), "0xe1")
	left := func() string {
		al, err := n.Alerts(ctx, watch.AlertQuery{})
		must(t, err)
		var out []string
		for _, a := range al {
			out = append(out, a.Watch+":"+a.Address)
		}
		return strings.Join(out, " ")
	}

	var wg sync.WaitGroup
	wg.Go(func() {
		n.pruneAlerts(ctx, watch.Retention{MaxAge: time.Hour, PerWatch: 2}, 5*time.Millisecond)
	})
	defer wg.Wait()
	defer cancel()
	// At 1h30 the first alert is past the hour, and theft keeps its
	// newest two.
	waitFor(t, "the first prune", 2*time.Second, func() bool { return left() == "hack:0xe1 theft:0xd4 theft:0xd5" })
	clock.Store(t0.Add(3*time.Hour + time.Minute).UnixNano())
	waitFor(t, "every alert ages out", 2*time.Second, func() bool { return left() == "" })

	if err := n.Serve(ctx, ServeConfig{Addr: "127.0.0.1:0", Alerts: watch.Retention{PerWatch: -1}}); err == nil || !strings.Contains(err.Error(), "cannot be negative") {
		t.Errorf("a negative alert limit: %v", err)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds or limit passes.
func waitFor(t testing.TB, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
