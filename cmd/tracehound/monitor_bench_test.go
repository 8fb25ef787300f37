package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/chain/chaintest"
	"github.com/tracehound/tracehound/intel"
	"github.com/tracehound/tracehound/taxii"
)

// BenchmarkIndicatorToRetroactive measures, on three nodes on loopback
// polling every 250 ms, the time from an agency's publication of an
// address to a retroactive alert at both exchanges, each of which had
// registered a customer's deposit from that address before: the pull,
// the rebuild of the intelligence layer, the re-evaluation of the
// registered counterparties and the alert in GET /v1/alerts. The anchor,
// measured in the same run, is the time until both exchanges' screening
// flags the address (BenchmarkPublishToFlag's figure): the difference is
// the re-evaluation's.
//
//	go test ./cmd/tracehound -run '^$' -bench IndicatorToRetroactive -benchtime 30x
func BenchmarkIndicatorToRetroactive(b *testing.B) {
	us, jp, kr := newNode(b, "us"), newNode(b, "jp"), newNode(b, "kr")
	jpKey := us.key(b, "jp-exchange", "taxii:read")
	krKey := us.key(b, "kr-exchange", "taxii:read")
	analyst := us.key(b, "us-analyst", "taxii:write")
	us.cli(b, "intel", "collection", "add", "feed", "--read", "jp-exchange,kr-exchange", "--write", "us-analyst")
	sdn := chaintest.SharedData(b, "ofac", "sdn-2024-05-03.csv")
	for _, n := range []*xnode{jp, kr} {
		n.cli(b, "sanctions", "import", sdn)
		n.key(b, "screen", "screen")
		n.key(b, "analyst", "trace")
	}
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
	var lat, flag []time.Duration
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		addr := fmt.Sprintf("0x%040x", 0xd0000000+i)
		id := fmt.Sprintf("D-%d", i)
		for _, n := range []*xnode{jp, kr} {
			cl := api.NewClient(n.url, n.keys["screen"], nil)
			t, _, err := cl.RegisterTransfer(ctx, api.TransferRequest{ID: id, Customer: "C-1", Chain: "eth", Tx: fmt.Sprintf("0x%064x", i),
				Counterparty: addr, Amount: "1000000000000000000", Direction: "deposit"})
			if err != nil || t.Decision.Action != alert.Accept {
				b.Fatalf("%s: register: %+v %v", n.name, t.Decision, err)
			}
		}
		objs, err := intel.Publish(intel.Publication{Creator: agency, Name: fmt.Sprintf("alert %d", i), TLP: intel.TLPAmber,
			Addresses: []intel.Listed{{Chain: "eth", Address: addr, Role: intel.RoleThief}}})
		if err != nil {
			b.Fatal(err)
		}
		raws := make([]json.RawMessage, len(objs))
		for k, o := range objs {
			raws[k], _ = json.Marshal(o)
		}
		b.StartTimer()
		start := time.Now()
		if _, err := c.Add(ctx, "feed", raws); err != nil {
			b.Fatal(err)
		}
		var flagged, raised [2]bool
		var flagAt time.Duration
		for flagged != [2]bool{true, true} || raised != [2]bool{true, true} {
			for k, n := range []*xnode{jp, kr} {
				if !flagged[k] {
					if flagged[k], _ = n.flagged(b, addr); flagged[k] && flagged[1-k] {
						flagAt = time.Since(start)
					}
				}
				if !raised[k] {
					raised[k] = n.retroactive(b, id, start)
				}
			}
			if time.Since(start) > 10*time.Second {
				b.Fatalf("%s: flagged %v, retroactive alerts %v", id, flagged, raised)
			}
			time.Sleep(2 * time.Millisecond)
		}
		lat, flag = append(lat, time.Since(start)), append(flag, flagAt)
	}
	slices.Sort(lat)
	slices.Sort(flag)
	b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50-ms")
	b.ReportMetric(float64(lat[(len(lat)*99)/100].Milliseconds()), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Milliseconds()), "max-ms")
	b.ReportMetric(float64(flag[len(flag)/2].Milliseconds()), "flag-p50-ms")
	b.ReportMetric(float64(flag[(len(flag)*99)/100].Milliseconds()), "flag-p99-ms")
	b.ReportMetric(float64(lat[len(lat)/2])/float64(flag[len(flag)/2]), "p50-ratio")
}

// retroactive reports whether the node raised, after since, a
// retroactive alert naming the transfer id.
func (n *xnode) retroactive(t testing.TB, id string, since time.Time) bool {
	t.Helper()
	req, _ := http.NewRequest("GET", n.url+"/v1/alerts?kind=retroactive&since="+url.QueryEscape(since.Add(-time.Second).UTC().Format(time.RFC3339Nano)), nil)
	req.Header.Set("Authorization", "Bearer "+n.keys["analyst"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var page struct{ Alerts []alert.Alert }
	if resp.StatusCode != 200 || json.Unmarshal(b, &page) != nil {
		t.Fatalf("%s: alerts: %d %s", n.name, resp.StatusCode, b)
	}
	for _, a := range page.Alerts {
		if slices.Contains(a.Links.Transfers, id) && strings.Contains(a.Explanation, "flagged by us") {
			return true
		}
	}
	return false
}
