package taxii_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracehound/tracehound/intel"
	"github.com/tracehound/tracehound/taxii"
	"github.com/tracehound/tracehound/taxii/taxiitest"
)

func TestMemStore(t *testing.T) {
	taxiitest.Run(t, func(*testing.T) taxiitest.Store { return taxii.NewMemStore() })
}

// received collects what a poller hands over and fails on duplicates.
type received struct {
	t   *testing.T
	mu  sync.Mutex
	ids []string
}

func (r *received) add(objs []taxii.Object) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, o := range objs {
		key := o.ID + "@" + taxii.FormatTimestamp(o.Version)
		if slices.Contains(r.ids, key) {
			r.t.Errorf("%s handed over twice", key)
		}
		r.ids = append(r.ids, key)
	}
}

func (r *received) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ids)
}

func greens(from, to int) [][]byte {
	var out [][]byte
	for i := from; i < to; i++ {
		out = append(out, taxiitest.Indicator(i, taxiitest.Created(), intel.MarkingTLP2Green))
	}
	return out
}

// TestPoller pulls from node a into node b, restarting the poller in the
// middle of a pass.
func TestPoller(t *testing.T) {
	ctx := context.Background()
	a, b := newNode(t, nil), newNode(t, nil)
	objs := greens(0, 25)
	// RED objects in between never arrive.
	objs = slices.Insert(objs, 10, taxiitest.Indicator(100, taxiitest.Created(), intel.MarkingTLP2Red))
	objs = slices.Insert(objs, 20, taxiitest.Indicator(101, taxiitest.Created(), intel.MarkingTLP2Red))
	a.post("mixed", objs...)

	// b's key at a is "bob"; a's key at b is "alice".
	fromA := taxii.NewClient(a.srv.URL, "tracehound", a.keys["bob"], a.srv.Client())
	toB := taxii.NewClient(b.srv.URL+"/", "/taxii2/tracehound", b.keys["alice"], b.srv.Client())
	cs, err := fromA.Collections(ctx)
	if err != nil || len(cs) != 3 || !slices.ContainsFunc(cs, func(c taxii.CollectionResource) bool { return c.ID == "mixed" && c.CanRead }) {
		t.Fatalf("collections: %+v %v", cs, err)
	}

	got := &received{t: t}
	forward := func(ctx context.Context, objs []taxii.Object) error {
		raws := make([]json.RawMessage, len(objs))
		for i, o := range objs {
			raws[i] = o.Raw
		}
		st, err := toB.Add(ctx, "shared", raws)
		if err != nil {
			return err
		}
		if st.FailureCount > 0 {
			return errors.New(st.Failures[0].Message)
		}
		got.add(objs)
		return nil
	}
	cursors := b.store // the cursor store survives the "restart"
	newPoller := func(handle func(context.Context, []taxii.Object) error) *taxii.Poller {
		p, err := taxii.NewPoller(taxii.PollerConfig{Client: fromA, Peer: "a", Collection: "mixed", Cursors: cursors, Handle: handle, PageSize: 7})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	// The first poller dies on its second page: the page is not lost.
	calls := 0
	p1 := newPoller(func(ctx context.Context, objs []taxii.Object) error {
		if calls++; calls == 2 {
			return errors.New("crash")
		}
		return forward(ctx, objs)
	})
	if n, err := p1.Poll(ctx); err == nil || n != 7 {
		t.Fatalf("first poller: %d, %v", n, err)
	}
	cur, _ := cursors.TAXIICursor(ctx, "a", "mixed")
	if cur.Next == "" || cur.Last.IsZero() {
		t.Fatalf("cursor mid-pass: %+v", cur)
	}

	p2 := newPoller(forward)
	if n, err := p2.Poll(ctx); err != nil || n != 18 {
		t.Fatalf("second poller: %d, %v", n, err)
	}
	if got.count() != 25 {
		t.Fatalf("received %d, want 25", got.count())
	}
	a.post("mixed", greens(25, 30)...)
	// And a new version of one seen before.
	a.post("mixed", taxiitest.Indicator(3, taxiitest.Created().Add(time.Hour), intel.MarkingTLP2Green))
	if n, err := newPoller(forward).Poll(ctx); err != nil || n != 6 {
		t.Fatalf("third poller: %d, %v", n, err)
	}
	if n, err := newPoller(forward).Poll(ctx); err != nil || n != 0 {
		t.Fatalf("nothing new: %d, %v", n, err)
	}
	// Read b back, following next (its pages hold 20).
	cl := taxii.NewClient(b.srv.URL, "tracehound", b.keys["bob"], nil)
	page, next, err := cl.Objects(ctx, "shared", time.Time{}, 100)
	all := page.Objects
	for err == nil && next != "" {
		page, err = cl.ObjectsPage(ctx, "shared", taxii.Query{Limit: 100, Next: next})
		all, next = append(all, page.Objects...), page.Next
	}
	if err != nil || len(all) != 30 {
		t.Fatalf("b has %d objects: %v", len(all), err)
	}
	for _, o := range all {
		if taxii.ObjectTLP(o) == intel.TLPRed {
			t.Errorf("%s reached b", o.ID)
		}
	}
	st, err := toB.Add(ctx, "shared", []json.RawMessage{json.RawMessage(taxiitest.Observable(1))})
	if err != nil {
		t.Fatal(err)
	}
	if again, err := toB.Status(ctx, st.ID); err != nil || again.SuccessCount != 1 {
		t.Errorf("status: %+v %v", again, err)
	}
	if _, err := toB.Add(ctx, "private", nil); taxii.StatusCode(err) != http.StatusBadRequest {
		t.Errorf("empty add: %v", err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestPollerOutage takes the partner down under a running poller.
func TestPollerOutage(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := newNode(t, nil)
	var down atomic.Bool
	var refused atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			refused.Add(1)
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		a.srv.Config.Handler.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	a.post("shared", greens(0, 10)...)

	cursors := taxii.NewMemStore()
	got := &received{t: t}
	p, err := taxii.NewPoller(taxii.PollerConfig{
		Client: taxii.NewClient(proxy.URL, "tracehound", a.keys["carol"], proxy.Client()),
		Peer:   "a", Collection: "shared", Cursors: cursors, PageSize: 4,
		Handle:   func(_ context.Context, objs []taxii.Object) error { got.add(objs); return nil },
		Interval: 10 * time.Millisecond, MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	waitFor(t, "the first 10 objects", func() bool { return got.count() == 10 })

	down.Store(true)
	a.post("shared", greens(10, 20)...)
	before, _ := cursors.TAXIICursor(ctx, "a", "shared")
	waitFor(t, "retries", func() bool { return refused.Load() >= 4 })
	after, _ := cursors.TAXIICursor(ctx, "a", "shared")
	if got.count() != 10 || !after.Last.Equal(before.Last) || !after.AddedAfter.Equal(before.AddedAfter) {
		t.Fatalf("during the outage: %d objects, cursor %+v then %+v", got.count(), before, after)
	}
	down.Store(false)
	waitFor(t, "recovery", func() bool { return got.count() == 20 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run: %v", err)
	}
}

// TestPollerStaleToken: a token the partner refuses sends the poller back
// to the last date_added it handed over, without loss.
func TestPollerStaleToken(t *testing.T) {
	ctx := context.Background()
	a := newNode(t, nil)
	a.post("shared", greens(0, 6)...)
	cl := taxii.NewClient(a.srv.URL, "tracehound", a.keys["carol"], a.srv.Client())
	first, _, err := cl.Objects(ctx, "shared", time.Time{}, 2)
	if err != nil {
		t.Fatal(err)
	}
	cursors := taxii.NewMemStore()
	cursors.PutTAXIICursor(ctx, "a", "shared", taxii.Cursor{Next: "expired", Last: first.DateAddedLast})
	got := &received{t: t}
	p, _ := taxii.NewPoller(taxii.PollerConfig{Client: cl, Peer: "a", Collection: "shared", Cursors: cursors,
		Handle: func(_ context.Context, objs []taxii.Object) error { got.add(objs); return nil }})
	if n, err := p.Poll(ctx); err != nil || n != 4 {
		t.Fatalf("poll: %d %v", n, err)
	}
	if _, err := taxii.NewPoller(taxii.PollerConfig{Client: cl}); err == nil {
		t.Error("a poller without a collection was made")
	}
}

// TestPollerChunks: a page larger than a chunk reaches Handle in order,
// chunk by chunk; a chunk that fails leaves the cursor where it was, and
// the next pass hands the whole page over again.
func TestPollerChunks(t *testing.T) {
	ctx := context.Background()
	a := newNode(t, nil)
	a.post("shared", greens(0, 23)...)
	cl := taxii.NewClient(a.srv.URL, "tracehound", a.keys["carol"], a.srv.Client())
	cursors := taxii.NewMemStore()
	var sizes []int
	var ids []string
	fail := 3 // the third chunk fails once
	p, err := taxii.NewPoller(taxii.PollerConfig{Client: cl, Peer: "a", Collection: "shared", Cursors: cursors, Chunk: 5,
		Handle: func(_ context.Context, objs []taxii.Object) error {
			if fail--; fail == 0 {
				return errors.New("disk full")
			}
			sizes = append(sizes, len(objs))
			for _, o := range objs {
				ids = append(ids, o.ID)
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := p.Poll(ctx); err == nil || n != 10 {
		t.Fatalf("failing pass: %d %v", n, err)
	}
	if cur, _ := cursors.TAXIICursor(ctx, "a", "shared"); !cur.AddedAfter.IsZero() || cur.Next != "" {
		t.Fatalf("the cursor moved past a page not handled: %+v", cur)
	}
	sizes, ids = nil, nil
	if n, err := p.Poll(ctx); err != nil || n != 23 {
		t.Fatalf("second pass: %d %v", n, err)
	}
	if !slices.Equal(sizes, []int{5, 5, 5, 5, 3}) {
		t.Errorf("chunks of %v", sizes)
	}
	for i, id := range ids {
		if id != taxiitest.ID("indicator", i) {
			t.Fatalf("object %d is %s, want %s", i, id, taxiitest.ID("indicator", i))
		}
	}
}

// TestPollerFlush: Flush ends each page, told whether every chunk of it
// was handled; the cursor moves past a page only once Flush(true)
// returned nil, so that a handler acting on a whole page at its end
// loses nothing when it fails.
func TestPollerFlush(t *testing.T) {
	ctx := context.Background()
	a := newNode(t, nil)
	a.post("shared", greens(0, 12)...)
	cl := taxii.NewClient(a.srv.URL, "tracehound", a.keys["carol"], a.srv.Client())
	cursors := taxii.NewMemStore()
	var gathered []taxii.Object
	var flushes []bool
	handleFails, flushFails := true, true
	p, err := taxii.NewPoller(taxii.PollerConfig{Client: cl, Peer: "a", Collection: "shared", Cursors: cursors, Chunk: 5,
		Handle: func(_ context.Context, objs []taxii.Object) error {
			if handleFails && len(gathered) > 0 {
				handleFails = false
				return errors.New("disk full")
			}
			gathered = append(gathered, objs...)
			return nil
		},
		Flush: func(_ context.Context, complete bool) (func() error, error) {
			flushes = append(flushes, complete)
			n := len(gathered)
			gathered = nil
			if complete && n != 12 {
				t.Errorf("flushed a page of %d objects, want 12", n)
			}
			if complete && flushFails {
				flushFails = false
				return func() error { return errors.New("store failed") }, nil
			}
			return nil, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"disk full", "store failed"} {
		if _, err := p.Poll(ctx); err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("pass %d: %v, want %q", i, err, want)
		}
		if cur, _ := cursors.TAXIICursor(ctx, "a", "shared"); !cur.AddedAfter.IsZero() || cur.Next != "" {
			t.Fatalf("pass %d: the cursor moved past a page not flushed: %+v", i, cur)
		}
	}
	if n, err := p.Poll(ctx); err != nil || n != 12 {
		t.Fatalf("third pass: %d %v", n, err)
	}
	if cur, _ := cursors.TAXIICursor(ctx, "a", "shared"); cur.AddedAfter.IsZero() {
		t.Error("the cursor did not move past the flushed page")
	}
	if !slices.Equal(flushes, []bool{false, true, true}) {
		t.Errorf("flushes %v, want [false true true]", flushes)
	}
}

// TestPollerFlushOverlaps: a page's flush may go on while the next page
// is fetched and handled; its wait comes before the next flush, and the
// cursor moves past a page only after its wait.
func TestPollerFlushOverlaps(t *testing.T) {
	ctx := context.Background()
	a := newNode(t, nil)
	a.post("shared", greens(0, 12)...)
	cl := taxii.NewClient(a.srv.URL, "tracehound", a.keys["carol"], a.srv.Client())
	cursors := taxii.NewMemStore()
	var events []string
	pages := 0
	p, err := taxii.NewPoller(taxii.PollerConfig{Client: cl, Peer: "a", Collection: "shared", Cursors: cursors, PageSize: 5,
		Handle: func(context.Context, []taxii.Object) error {
			events = append(events, "h")
			return nil
		},
		Flush: func(_ context.Context, complete bool) (func() error, error) {
			pages++
			page := pages
			events = append(events, "f")
			before, _ := cursors.TAXIICursor(ctx, "a", "shared")
			return func() error {
				events = append(events, "w")
				// The cursor has not moved past this page before its wait.
				if now, _ := cursors.TAXIICursor(ctx, "a", "shared"); now != before {
					t.Errorf("page %d: the cursor moved before its wait: %+v, was %+v", page, now, before)
				}
				return nil
			}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := p.Poll(ctx); err != nil || n != 12 {
		t.Fatalf("poll: %d %v", n, err)
	}
	if got := strings.Join(events, ""); got != "hfhwfhwfw" {
		t.Errorf("events %s, want hfhwfhwfw (each page handled while the last one's flush is at work)", got)
	}
	if cur, _ := cursors.TAXIICursor(ctx, "a", "shared"); cur.AddedAfter.IsZero() || cur.Next != "" {
		t.Errorf("the cursor after the pass: %+v", cur)
	}
}

// TestClientStream: the envelope's members may come in any order, and
// unknown ones are skipped; a broken object fails the request.
func TestClientStream(t *testing.T) {
	obj := string(taxiitest.Indicator(1, taxiitest.Created(), intel.MarkingTLP2Green))
	for _, tc := range []struct {
		body    string
		objects int
		more    bool
		next    string
		err     string
	}{
		{`{"more":true,"next":"abc","objects":[` + obj + `,` + obj + `]}`, 2, true, "abc", ""},
		{`{"objects":[` + obj + `],"x-vendor":{"a":[1,{"b":"]"}]},"more":false}`, 1, false, "", ""},
		{`{"more":false}`, 0, false, "", ""},
		{`{"objects":[` + obj + `,{"type":5}]}`, 0, false, "", "object 1"},
		{`{"objects":[` + obj, 0, false, "", "decode response"},
		{`[]`, 0, false, "", "decode response"},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", taxii.MediaType)
			w.Write([]byte(tc.body))
		}))
		n := 0
		res, err := taxii.NewClient(srv.URL, "tracehound", "k", nil).ObjectsStream(context.Background(), "c", taxii.Query{}, 1, func(objs []taxii.Object) error {
			n += len(objs)
			return nil
		})
		srv.Close()
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %v, want %q", tc.body, err, tc.err)
			}
		case err != nil || n != tc.objects || res.More != tc.more || res.Next != tc.next:
			t.Errorf("%s: %d objects, %+v, %v", tc.body, n, res, err)
		}
	}
}
