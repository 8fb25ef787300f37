package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/audit"
	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/chaintest"
	"github.com/tracehound/tracehound/chain/eth"
	"github.com/tracehound/tracehound/store/pebble"
	"github.com/tracehound/tracehound/trace"
	"github.com/tracehound/tracehound/watch"
)

type labelMap map[string]trace.Label

func (l labelMap) Label(_ context.Context, _ chain.Chain, a string) (trace.Label, bool, error) {
	lb, ok := l[a]
	return lb, ok, nil
}

// storeWatcher is an api.Watcher over a Pebble store: the watch service
// with a minimal reading of requests (Ethereum address seeds).
type storeWatcher struct {
	*watch.Service
	db     *pebble.DB
	labels labelMap
}

func actor(ctx context.Context) string {
	if k := auth.KeyFrom(ctx); k != nil {
		return k.Name
	}
	return "unknown"
}

func (s *storeWatcher) AddWatch(ctx context.Context, name string, req trace.Request, _ *watch.Share) (watch.Watch, []watch.Alert, error) {
	if req.Chain != chain.Ethereum || name == "" {
		return watch.Watch{}, nil, &api.InputError{Err: errors.New("want a name and chain eth")}
	}
	w := watch.Watch{Name: name, Chain: chain.Ethereum, Model: req.Model, Hops: req.MaxHops, Seeds: req.Seeds}
	found, err := s.Add(ctx, actor(ctx), &w, s.db.Graph(), s.labels, time.Now())
	if errors.Is(err, watch.ErrExists) {
		return watch.Watch{}, nil, &api.ConflictError{Err: err}
	}
	return w, found, err
}

func (s *storeWatcher) DeleteWatch(ctx context.Context, name string) (bool, error) {
	return s.Delete(ctx, actor(ctx), name)
}

type watchFixture struct {
	*fixture
	db                  *pebble.DB
	svc                 *storeWatcher
	traceKey, screenKey string
}

func newWatchFixture(t *testing.T) *watchFixture {
	t.Helper()
	ctx := context.Background()
	db, err := pebble.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for h, b := range []*chain.Block{chaintest.PayBlock(1, [3]string{"1", "7", "1000"}), chaintest.PayBlock(2, [3]string{"7", "e", "600"})} {
		if err := db.Graph().WriteBlocks(ctx, chain.Ethereum, "test", []*chain.Block{b}); err != nil {
			t.Fatalf("block %d: %v", h+1, err)
		}
	}
	svc := &storeWatcher{Service: watch.NewService(db, audit.New(db), nil), db: db,
		labels: labelMap{chaintest.EthAddr("e"): {Entity: "Exchange One", Category: "exchange"}}}
	now := time.Now()
	tk, tsecret, err := auth.NewKey("analyst", []auth.Role{auth.RoleTrace}, 0, now)
	if err != nil {
		t.Fatal(err)
	}
	sk, ssecret, err := auth.NewKey("exchange", []auth.Role{auth.RoleScreen}, 0, now)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Config{Keys: auth.NewKeyring([]auth.Key{tk, sk}), Parser: chain.NewParser(eth.Codec{}), Watcher: svc}))
	t.Cleanup(srv.Close)
	return &watchFixture{fixture: &fixture{srv: srv}, db: db, svc: svc, traceKey: tsecret, screenKey: ssecret}
}

type watchBody struct {
	watch.Watch
	Alerts []watch.Alert `json:"alerts"`
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return v
}

// TestWatchAuth: every watch endpoint wants a key, and one with the trace
// role.
func TestWatchAuth(t *testing.T) {
	f := newWatchFixture(t)
	for _, c := range []struct{ method, path string }{
		{"POST", "/v1/watches"}, {"GET", "/v1/watches"}, {"GET", "/v1/watches/x"}, {"DELETE", "/v1/watches/x"}, {"GET", "/v1/alerts"},
	} {
		if resp, body := f.do(t, c.method, c.path, "", nil); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s %s without a key: %d %s", c.method, c.path, resp.StatusCode, body)
		}
		if resp, body := f.do(t, c.method, c.path, f.screenKey, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s %s with a screening key: %d %s", c.method, c.path, resp.StatusCode, body)
		}
	}
	if ws, _ := f.svc.Watches(context.Background()); len(ws) != 0 {
		t.Errorf("refused requests saved watches: %+v", ws)
	}
}

// TestWatchAPI creates, lists, reads and deletes a watch, raises an alert
// on new funds at the exchange and reads it through GET /v1/alerts, and
// checks the audit trail names the key behind each change.
func TestWatchAPI(t *testing.T) {
	f := newWatchFixture(t)
	ctx := context.Background()
	create := map[string]any{"name": "bybit", "chain": "eth", "seeds": []string{chaintest.EthAddr("7")}}
	resp, body := f.do(t, "POST", "/v1/watches", f.traceKey, create)
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Location") != "/v1/watches/bybit" {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	if w := decode[watchBody](t, body); w.Endpoints[chaintest.EthAddr("e")].String() != "600" || w.Labels[chaintest.EthAddr("e")].Entity != "Exchange One" || w.CreatedBy != "analyst" {
		t.Errorf("created: %s", body)
	}
	for _, c := range []struct {
		body any
		want int
	}{
		{create, http.StatusConflict},
		{map[string]any{"name": "x", "chain": "eth"}, http.StatusBadRequest},
		{map[string]any{"name": "x", "chain": "doge", "seeds": []string{"D"}}, http.StatusBadRequest},
		{map[string]any{"name": "x", "chain": "eth", "seeds": []string{chaintest.EthAddr("7")}, "colour": "red"}, http.StatusBadRequest},
		{[]byte("{"), http.StatusBadRequest},
	} {
		if resp, body := f.do(t, "POST", "/v1/watches", f.traceKey, c.body); resp.StatusCode != c.want {
			t.Errorf("create %v: %d %s, want %d", c.body, resp.StatusCode, body, c.want)
		} else {
			decodeError(t, body)
		}
	}

	resp, body = f.do(t, "GET", "/v1/watches", f.traceKey, nil)
	if list := decode[struct{ Watches []watch.Watch }](t, body); resp.StatusCode != 200 || len(list.Watches) != 1 || list.Watches[0].Name != "bybit" {
		t.Fatalf("list: %d %s", resp.StatusCode, body)
	}
	if resp, body := f.do(t, "GET", "/v1/watches/nope", f.traceKey, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown watch: %d %s", resp.StatusCode, body)
	}
	resp, body = f.do(t, "GET", "/v1/alerts", f.traceKey, nil)
	if got := decode[map[string]json.RawMessage](t, body); resp.StatusCode != 200 || string(got["alerts"]) != "[]" || got["next_since"] != nil {
		t.Fatalf("alerts before any: %d %s", resp.StatusCode, body)
	}

	// New funds reach the exchange; the ingest's rerun raises an alert.
	if err := f.db.Graph().WriteBlocks(ctx, chain.Ethereum, "test", []*chain.Block{chaintest.PayBlock(3, [3]string{"7", "e", "300"})}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CheckAll(ctx, f.db.Graph(), func(*watch.Watch) trace.Labeler { return f.svc.labels }, chain.Ethereum, time.Now()); err != nil {
		t.Fatal(err)
	}
	type page struct {
		Alerts    []watch.Alert
		NextSince time.Time `json:"next_since"`
	}
	resp, body = f.do(t, "GET", "/v1/alerts?since="+url.QueryEscape(time.Now().Add(-time.Hour).Format(time.RFC3339)), f.traceKey, nil)
	p := decode[page](t, body)
	if resp.StatusCode != 200 || len(p.Alerts) != 1 || p.Alerts[0].Address != chaintest.EthAddr("e") || p.Alerts[0].Amount.String() != "900" ||
		p.Alerts[0].Previous.String() != "600" || !p.NextSince.Equal(p.Alerts[0].Raised) {
		t.Fatalf("alerts: %d %s", resp.StatusCode, body)
	}
	resp, body = f.do(t, "GET", "/v1/alerts?since="+url.QueryEscape(p.NextSince.Format(time.RFC3339Nano)), f.traceKey, nil)
	if p := decode[page](t, body); resp.StatusCode != 200 || len(p.Alerts) != 0 {
		t.Errorf("alerts after the last one: %d %s", resp.StatusCode, body)
	}
	for _, q := range []string{"since=yesterday", "limit=0", "limit=100001"} {
		if resp, body := f.do(t, "GET", "/v1/alerts?"+q, f.traceKey, nil); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("alerts?%s: %d %s", q, resp.StatusCode, body)
		}
	}
	resp, body = f.do(t, "GET", "/v1/watches/bybit", f.traceKey, nil)
	if w := decode[watchBody](t, body); resp.StatusCode != 200 || len(w.Alerts) != 1 || w.Endpoints[chaintest.EthAddr("e")].String() != "900" {
		t.Errorf("watch with its alert: %d %s", resp.StatusCode, body)
	}

	if resp, body := f.do(t, "DELETE", "/v1/watches/bybit", f.traceKey, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d %s", resp.StatusCode, body)
	}
	for _, method := range []string{"DELETE", "GET"} {
		if resp, body := f.do(t, method, "/v1/watches/bybit", f.traceKey, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s after delete: %d %s", method, resp.StatusCode, body)
		}
	}

	var trail []string
	if err := f.db.AuditEntries(ctx, 1, func(e audit.Entry) error {
		trail = append(trail, e.Actor+" "+e.Action+" "+e.Target)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"analyst watch.create bybit", "watch:bybit watch.alert " + chaintest.EthAddr("e"), "analyst watch.delete bybit"} {
		if !slices.Contains(trail, want) {
			t.Errorf("audit trail lacks %q: %q", want, trail)
		}
	}
	if len(trail) != 3 {
		t.Errorf("audit trail: %q", trail)
	}
}
