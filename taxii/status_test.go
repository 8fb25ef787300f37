package taxii_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/tracehound/tracehound/taxii"
	"github.com/tracehound/tracehound/taxii/taxiitest"
)

// clock is a settable time source for the server.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestStatusExpiry(t *testing.T) {
	clk := &clock{t: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)}
	n := newNode(t, func(c *taxii.Config) {
		c.Now = clk.Now
		c.StatusRetention = time.Hour
		c.StatusLimit = 3
	})
	ctx := context.Background()
	stored := func(id string) bool {
		t.Helper()
		_, ok, err := n.store.TAXIIStatus(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	first := n.post("shared", taxiitest.Observable(1))
	clk.Add(59 * time.Minute)
	if r := n.get(root+"status/"+first.ID+"/", "alice"); r.code != http.StatusOK {
		t.Fatalf("status within the retention: %d %s", r.code, r.body)
	}
	// Past the retention the status is gone, whether or not a prune ran.
	clk.Add(2 * time.Minute)
	wantError(t, n.get(root+"status/"+first.ID+"/", "alice"), http.StatusNotFound)
	if stored(first.ID) {
		t.Error("an expired status is still stored after a GET")
	}

	// The limit keeps the newest statuses; adding prunes the rest.
	var ids []string
	for i := range 5 {
		clk.Add(time.Second)
		ids = append(ids, n.post("shared", taxiitest.Observable(10+i)).ID)
	}
	for i, id := range ids {
		if want := i >= 2; stored(id) != want {
			t.Errorf("status %d stored: %v, want %v", i, !want, want)
		}
	}
	wantError(t, n.get(root+"status/"+ids[0]+"/", "alice"), http.StatusNotFound)
	if r := n.get(root+"status/"+ids[4]+"/", "alice"); r.code != http.StatusOK {
		t.Errorf("newest status: %d %s", r.code, r.body)
	}

	// With no more adds, PruneStatuses deletes what expired.
	clk.Add(2 * time.Hour)
	if removed, err := n.taxii.PruneStatuses(ctx); err != nil || removed != 3 {
		t.Fatalf("prune: %d %v", removed, err)
	}
	for _, id := range ids {
		if stored(id) {
			t.Errorf("status %s survived its retention", id)
		}
	}
}

func TestRefusals(t *testing.T) {
	st := taxii.Status{FailureCount: 4, Failures: []taxii.StatusDetail{
		{ID: "indicator--1", Message: "indicator--1: forged: claims identity--9"},
		{ID: "indicator--2", Message: "indicator--2: forged: claims identity--9"},
		{ID: "x--3", Message: "not STIX"},
		{ID: "indicator--4", Message: "indicator--4: forged: claims identity--9"},
	}}
	rs := st.Refusals(2)
	if len(rs) != 2 || rs[0].Count != 3 || rs[0].Reason != "<id>: forged: claims <id>" || len(rs[0].Examples) != 2 || rs[1].Count != 1 || rs[1].Examples[0] != "x--3" {
		t.Errorf("refusals %+v", rs)
	}
}
