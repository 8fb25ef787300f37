package node

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/intel"
	"github.com/tracehound/tracehound/taxii"
)

// fakePeer serves a fixed list of STIX objects as a peer node's
// collection "feed", whatever the query: the objects a test has a peer
// send, hostile ones included.
func fakePeer(t *testing.T, objs []json.RawMessage) *httptest.Server {
	t.Helper()
	added := taxii.FormatTimestamp(time.Now().Add(-time.Minute))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/collections/feed/objects/") {
			http.NotFound(w, r)
			return
		}
		body, err := json.Marshal(map[string]any{"more": false, "objects": objs})
		if err != nil {
			t.Error(err)
			return
		}
		w.Header().Set("Content-Type", taxii.MediaType)
		w.Header().Set("X-TAXII-Date-Added-First", added)
		w.Header().Set("X-TAXII-Date-Added-Last", added)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// walletIndicator is a TLP:GREEN indicator flagging addr, with its raw
// JSON.
func walletIndicator(t *testing.T, id, addr string, modified time.Time, edit func(map[string]any)) json.RawMessage {
	t.Helper()
	ts := intel.NewTimestamp(modified)
	raw, err := json.Marshal(&intel.Indicator{Common: intel.Common{Type: intel.TypeIndicator, SpecVersion: intel.SpecVersion, ID: id, Created: ts, Modified: ts,
		ObjectMarkingRefs: []string{intel.MarkingTLP2Green}}, Pattern: "[cryptocurrency-wallet:value = '" + addr + "']", PatternType: "stix", ValidFrom: ts})
	must(t, err)
	if edit == nil {
		return raw
	}
	var m map[string]any
	must(t, json.Unmarshal(raw, &m))
	edit(m)
	raw, err = json.Marshal(m)
	must(t, err)
	return raw
}

// partnerNode opens a node that pulls the peer at url, with its
// intelligence loop running, and returns it with its poller.
func partnerNode(t *testing.T, ctx context.Context, url string) (*Node, *taxii.Poller) {
	t.Helper()
	n, err := Open(ctx, Config{DataDir: t.TempDir()})
	must(t, err)
	t.Cleanup(func() { n.Close() })
	must(t, n.AddPeer(ctx, PeerSpec{Name: "us", URL: url, Collection: "feed", Key: "secret"}))
	ps, err := n.pollers(ctx, time.Hour)
	must(t, err)
	if len(ps) != 1 {
		t.Fatalf("%d pollers", len(ps))
	}
	_, err = n.Index(ctx)
	must(t, err)
	lctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { n.reloadOnChange(lctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	waitUntil(t, "the intelligence view", func() bool {
		n.intel.mu.Lock()
		defer n.intel.mu.Unlock()
		return n.intel.v != nil
	})
	return n, ps[0]
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for start := time.Now(); !ok(); time.Sleep(5 * time.Millisecond) {
		if time.Since(start) > 30*time.Second {
			t.Fatalf("%s: not after 30s", what)
		}
	}
}

func flagged(n *Node, addr string) bool {
	return len(n.index.Lookup(chain.Address{Chain: chain.Ethereum, Value: addr}).Intel) > 0
}

// TestPulledFlaggedBeforeStored: a peer's indicator is flagged in
// screening before it is stored; a crash between the two (here the
// store failing) stores nothing and leaves the poll cursor where it was,
// so that the next pass pulls the object again, and drops the flag of
// what was not stored.
func TestPulledFlaggedBeforeStored(t *testing.T) {
	ctx := AsActor(context.Background(), "test")
	addr := "0x00000000000000000000000000000000000f1a61"
	peer := fakePeer(t, []json.RawMessage{walletIndicator(t, intel.NewID(intel.TypeIndicator), addr, time.Now().Add(-time.Hour), nil)})
	n, poller := partnerNode(t, ctx, peer.URL)

	crash := errors.New("crash")
	var atFlag bool
	n.intel.afterFlag = func() error {
		atFlag = flagged(n, addr)
		return crash
	}
	if _, err := poller.Poll(ctx); !errors.Is(err, crash) {
		t.Fatalf("poll: %v, want the crash", err)
	}
	if !atFlag {
		t.Error("the address was not flagged before the store")
	}
	page, err := n.db.TAXIIObjects(ctx, inboxPrefix+"us", taxii.Filter{}, 10)
	must(t, err)
	if len(page.Objects) != 0 {
		t.Errorf("%d objects stored after the crash", len(page.Objects))
	}
	cur, err := n.db.TAXIICursor(ctx, "us", "feed")
	must(t, err)
	if !cur.AddedAfter.IsZero() || !cur.Last.IsZero() {
		t.Errorf("the cursor moved past objects not stored: %+v", cur)
	}
	// What was not stored is not flagged once the layer is read again.
	waitUntil(t, "the unstored flag dropped", func() bool { return !flagged(n, addr) })

	n.intel.afterFlag = nil
	if _, err := poller.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if !flagged(n, addr) {
		t.Error("not flagged after the object was pulled again")
	}
	page, err = n.db.TAXIIObjects(ctx, inboxPrefix+"us", taxii.Filter{}, 10)
	must(t, err)
	if len(page.Objects) != 1 {
		t.Errorf("%d objects stored, want 1", len(page.Objects))
	}
	if cur, err = n.db.TAXIICursor(ctx, "us", "feed"); err != nil || cur.AddedAfter.IsZero() {
		t.Errorf("the cursor did not move past the stored page: %+v %v", cur, err)
	}
}

// TestPulledHostileNeverFlagged: of a peer's objects, those that fail
// STIX validation, claim this node's identity or rewrite an indicator
// this node owns are never flagged, not even for the moment between
// the checks and the store; the valid one beside them is.
func TestPulledHostileNeverFlagged(t *testing.T) {
	ctx := AsActor(context.Background(), "test")
	old := time.Now().Add(-time.Hour)
	good := "0x000000000000000000000000000000000000600d"
	invalid := "0x0000000000000000000000000000000000000bad"
	forged := "0x00000000000000000000000000000000000f0f9e"
	rewritten := "0x00000000000000000000000000000000000e7417"
	own := "0x000000000000000000000000000000000000a1a1"

	// The node's own indicator, whose id the peer then sends a version
	// of: the node's identity must exist before the peer's objects are
	// made, for the forged one to claim it.
	n0dir := t.TempDir()
	n0, err := Open(ctx, Config{DataDir: n0dir})
	must(t, err)
	me, err := n0.SetIdentity(ctx, "EU exchange")
	must(t, err)
	must(t, n0.PutCollection(ctx, taxii.Collection{ID: "mine"}))
	ownID := intel.NewID(intel.TypeIndicator)
	st, err := n0.AddObjects(ctx, "mine", []json.RawMessage{walletIndicator(t, ownID, own, old, nil)})
	if err != nil || st.SuccessCount != 1 {
		t.Fatalf("own indicator: %+v %v", st, err)
	}
	must(t, n0.Close())

	objs := []json.RawMessage{
		walletIndicator(t, intel.NewID(intel.TypeIndicator), good, old, nil),
		walletIndicator(t, intel.NewID(intel.TypeIndicator), invalid, old, func(m map[string]any) { delete(m, "valid_from") }),
		walletIndicator(t, intel.NewID(intel.TypeIndicator), forged, old, func(m map[string]any) { m["created_by_ref"] = me.ID }),
		walletIndicator(t, ownID, rewritten, time.Now().Add(-time.Minute), nil),
	}
	peer := fakePeer(t, objs)

	n, err := Open(ctx, Config{DataDir: n0dir})
	must(t, err)
	defer n.Close()
	must(t, n.AddPeer(ctx, PeerSpec{Name: "us", URL: peer.URL, Collection: "feed", Key: "secret"}))
	ps, err := n.pollers(ctx, time.Hour)
	must(t, err)
	_, err = n.Index(ctx)
	must(t, err)
	lctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { n.reloadOnChange(lctx) })
	defer func() { cancel(); wg.Wait() }()
	waitUntil(t, "the intelligence view", func() bool {
		n.intel.mu.Lock()
		defer n.intel.mu.Unlock()
		return n.intel.v != nil
	})
	if !flagged(n, own) {
		t.Fatal("the node's own indicator is not flagged")
	}

	hostile := []string{invalid, forged, rewritten}
	var atFlag []string
	n.intel.afterFlag = func() error {
		for _, a := range append([]string{good}, hostile...) {
			if flagged(n, a) {
				atFlag = append(atFlag, a)
			}
		}
		return nil
	}
	if _, err := ps[0].Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if len(atFlag) != 1 || atFlag[0] != good {
		t.Errorf("flagged between the checks and the store: %v, want only %s", atFlag, good)
	}
	// The update that follows the store changes nothing of it.
	time.Sleep(300 * time.Millisecond)
	for _, a := range hostile {
		if flagged(n, a) {
			t.Errorf("%s flagged", a)
		}
	}
	if !flagged(n, good) || !flagged(n, own) {
		t.Error("a valid flag is missing")
	}
	if h := n.index.Lookup(chain.Address{Chain: chain.Ethereum, Value: own}); len(h.Intel) != 1 || h.Intel[0].Partner != "this node" {
		t.Errorf("the node's own indicator: %+v", h.Intel)
	}
}
