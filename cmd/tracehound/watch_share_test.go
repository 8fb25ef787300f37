package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/ingest/etl"
	"github.com/tracehound/tracehound/intel"
	"github.com/tracehound/tracehound/node"
	"github.com/tracehound/tracehound/taxii"
	"github.com/tracehound/tracehound/watch"
)

// TestWatchShareReachesPeer: an investigator's node follows a theft with
// a watch that shares. While the node serves, new blocks take the funds
// to a second deposit address at an exchange and to a mixer; the watch's
// alert publishes the deposit address as a TLP:AMBER indicator, and a
// partner exchange polling the collection flags it in screening within
// seconds. The mixer's tagged pool is not published; a TLP:RED share is
// refused; every share is audited.
func TestWatchShareReachesPeer(t *testing.T) {
	a, first, second, pack := watchFixture(t)

	inv, ex := newNode(t, "investigator"), newNode(t, "exchange")
	inv.cli(t, "ingest", "csv", first, "--no-progress")
	inv.cli(t, "tags", "import", pack)
	exKey := inv.key(t, "exchange-two", "taxii:read")
	inv.key(t, "screen", "screen")
	analyst := inv.key(t, "analyst", "trace")
	inv.cli(t, "intel", "collection", "add", "theft-alerts", "--read", "exchange-two")
	add := func(args ...string) (string, error) {
		return run(t, append([]string{"--data", inv.data, "watch", "add", "theft", "eth", a("7")}, args...)...)
	}
	if out, err := add("--share", "theft-alerts"); err == nil || !strings.Contains(err.Error(), "intel identity") {
		t.Errorf("a share without the node's identity: %v %s", err, out)
	}
	inv.cli(t, "intel", "identity", "Investigator")
	for _, c := range []struct{ args []string }{
		{[]string{"--share", "theft-alerts", "--tlp", "red"}},
		{[]string{"--share", "no-such-collection"}},
		{[]string{"--tlp", "green"}},
	} {
		if out, err := add(c.args...); err == nil {
			t.Errorf("watch add %v: saved\n%s", c.args, out)
		} else if c.args[len(c.args)-1] == "red" && !strings.Contains(err.Error(), "TLP:RED never leaves this node") {
			t.Errorf("a RED share refused as: %v", err)
		}
	}
	if out, err := add("--share", "theft-alerts", "--tlp", "amber"); err != nil || !strings.Contains(out, "published in collection theft-alerts as TLP:AMBER") {
		t.Fatalf("watch add: %v\n%s", err, out)
	}
	ex.key(t, "screen", "screen", "clearance=amber")
	ex.cli(t, "intel", "peer", "add", "investigator", inv.url, "--collection", "theft-alerts", "--key", exKey)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ex.start(ctx, t)
	// The investigator's node serves in-process, so that the test can
	// feed its follower's code path with the next blocks.
	n, err := node.Open(ctx, node.Config{DataDir: inv.data})
	must(t, err)
	var out bytes.Buffer // written by this goroutine's ingest only
	n.OnAlerts(func(_ context.Context, alerts []watch.Alert) { printAlerts(&out, alerts) })
	ready, served := make(chan struct{}), make(chan error, 1)
	go func() {
		served <- n.Serve(ctx, node.ServeConfig{Addr: strings.TrimPrefix(inv.url, "http://"), Poll: 250 * time.Millisecond, Ready: func(string) { close(ready) }})
	}()
	select {
	case <-ready:
	case err := <-served:
		t.Fatal(err)
	}
	stop := func() {
		cancel()
		<-ex.done
		ex.done <- nil
		if err := <-served; err != nil {
			t.Errorf("investigator's node: %v", err)
		}
		served <- nil
		n.Close()
	}
	defer func() {
		if ctx.Err() == nil {
			stop()
		}
	}()
	if f, _ := ex.flagged(t, a("d2")); f {
		t.Fatal("flagged before the funds arrived")
	}

	src, err := etl.Open(second)
	must(t, err)
	defer src.Close()
	o := ingest.Options{}
	if from, ok := src.First(); ok {
		o.From = from
	}
	arrived := time.Now()
	// As a server's follower does: batch by batch, the watches rerun.
	if _, err := n.Ingest(node.AsActor(ctx, "test"), node.Ingest{Chain: chain.Ethereum, Stream: src, Options: o, Watch: true}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "at "+a("d2")+" now holds 150 (was 0)") || !strings.Contains(out.String(), "shared in theft-alerts as indicator--") {
		t.Errorf("alerts:\n%s", out.String())
	}
	waitFor(t, "the exchange flags the deposit address", 5*time.Second, func() bool { f, _ := ex.flagged(t, a("d2")); return f })
	t.Logf("the partner flags the deposit address %s after the blocks arrived", time.Since(arrived).Round(time.Millisecond))
	if _, body := ex.flagged(t, a("d2")); !strings.Contains(body, "flagged by investigator in report Case theft: stolen funds at Exchange One "+a("d2")+", TLP:AMBER") {
		t.Errorf("the exchange explains: %s", body)
	}
	if f, body := ex.flagged(t, a("f")); f {
		t.Errorf("the mixer's tagged pool was shared: %s", body)
	}
	waitFor(t, "the investigator's own screening flags it", 2*time.Second, func() bool { f, _ := inv.flagged(t, a("d2")); return f })

	// What the partner received: this node's identity, the AMBER
	// marking, and a description naming the case, amount and transaction.
	res, _, err := taxii.NewClient(inv.url, taxii.DefaultAPIRoot, exKey, nil).Objects(ctx, "theft-alerts", time.Time{}, 100)
	must(t, err)
	var ind intel.Indicator
	for _, o := range res.Objects {
		if o.Type == intel.TypeIndicator {
			must(t, json.Unmarshal(o.Raw, &ind))
		}
	}
	if ind.CreatedByRef != intel.IdentityFor("Investigator").ID || len(ind.ObjectMarkingRefs) != 1 || ind.ObjectMarkingRefs[0] != intel.TLPAmber.MarkingID() ||
		ind.Pattern != "[cryptocurrency-wallet:value = '"+a("d2")+"']" {
		t.Errorf("indicator: %+v", ind)
	}
	for _, want := range []string{"Case theft", "150 base units", fmt.Sprintf("0x%064x", 6)} {
		if !strings.Contains(ind.Description, want) {
			t.Errorf("the indicator's description lacks %q: %s", want, ind.Description)
		}
	}
	call := func(method, path, body string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, inv.url+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+analyst)
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	code, body := call("GET", "/v1/alerts?watch=theft", "")
	var page struct{ Alerts []watch.Alert }
	if code != http.StatusOK || json.Unmarshal(body, &page) != nil || len(page.Alerts) != 2 {
		t.Fatalf("alerts: %d %s", code, body)
	}
	for _, al := range page.Alerts {
		if (al.Shared != nil) != (al.Address == a("d2")) || al.Shared != nil && al.Shared.Indicator != ind.ID {
			t.Errorf("alert at %s shared as %+v", al.Address, al.Shared)
		}
	}

	// The API takes the same share, and refuses RED the same way.
	watchReq := func(name, tlp string) string {
		return `{"name":"` + name + `","chain":"eth","seeds":["` + a("7") + `"],"share":{"collection":"theft-alerts","tlp":"` + tlp + `"}}`
	}
	if code, body := call("POST", "/v1/watches", watchReq("api-red", "red")); code != http.StatusBadRequest || !strings.Contains(string(body), "TLP:RED never leaves") {
		t.Errorf("a RED share through the API: %d %s", code, body)
	}
	var saved watch.Watch
	if code, body := call("POST", "/v1/watches", watchReq("api-green", "tlp:green")); code != http.StatusCreated || json.Unmarshal(body, &saved) != nil ||
		saved.Share == nil || saved.Share.TLP != intel.TLPGreen || saved.Share.Collection != "theft-alerts" {
		t.Errorf("a GREEN share through the API: %d %s", code, body)
	}

	stop()
	audit := inv.cli(t, "intel", "audit", "show")
	for _, want := range []string{"watch:theft\twatch.share\t" + a("d2"), "(local)\ttaxii.objects.added\ttheft-alerts", "exchange-two\ttaxii.objects.served\ttheft-alerts"} {
		if !strings.Contains(audit, want) {
			t.Errorf("the audit lacks %q:\n%s", want, audit)
		}
	}
	if strings.Contains(audit, "watch.share\t"+a("f")) {
		t.Error("the mixer's pool was shared")
	}
}
